/**
 * Runs one of the checks that stop the program before anything is created. What they throw is meant for
 * the person running `pulumi`, and the message says what to do, so it goes without stack frames. On Node
 * 22 that is also what makes the error appear at all within a minute: the SDK prints an unhandled error
 * with util.inspect, whose source-map lookup loops on a frame in the SDK's source-mapped files
 * (".../node_modules/@pulumi/resource.ts", no separator after the scope's package) until the string
 * overflows. Measured with `prometheusReplicas: 0` and this function passing the error through:
 * `pulumi preview` failed after 63.2 s on Node 22.23.5 (59.5 s on 20.20.2), and after 5.1 s on Node
 * 24.22.3, which does not loop; with the frames dropped, 5.6 s on Node 24 (ts-node compiling). Node 22
 * is within package.json's engines, so the workaround stays.
 */
export async function checked<T>(check: () => T | Promise<T>): Promise<T> {
    try {
        return await check();
    } catch (e) {
        if (e instanceof Error) e.stack = `${e.name}: ${e.message}`;
        throw e;
    }
}
