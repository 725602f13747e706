/**
 * @module
 * The one text of xe's connection options, shared by the thin client's usage (no command,
 * `--help`) and by `xe help`, so that the two never drift apart.
 */

/** `Usage:`, the program line and its options, each with what it does. */
export function usageOptions(argv0: string): string {
  return `Usage:
  ${argv0} <command>
    [ -s <server> ]            Host to connect to
    [ -p <port> ]              Port to connect to
    [ -u <username> -pw <password> | -pwf <password file> ]
                               Credentials (a password, or a file of user and password)
    [ --nossl ]                Plain HTTP instead of TLS
    [ --debug ]                Print every API call on stderr
    [ --debug-on-fail ]        Print the API calls only when the command fails
    [ --minimal ]              Print only the values, comma-separated
    [ --traceparent <value> ]  Distributed tracing context
    [ <other arguments> ... ]  The command's own parameters
`;
}
