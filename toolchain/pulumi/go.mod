module asm-prom-mtls/toolchain/pulumi

go 1.26.0

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

require github.com/pulumi/pulumi/sdk/v3 v3.274.1
