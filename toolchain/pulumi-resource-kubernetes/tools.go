//go:build tools

// Package tools only records the provider module (and the dependency versions it needs) in
// this module's go.mod/go.sum. scripts/toolchain.sh builds the provider from a copy of the
// module directory, because the module zip lacks two files its main package embeds.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)
