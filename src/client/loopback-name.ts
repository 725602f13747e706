/**
 * @module
 * `localhost` (and any name under `.localhost`) is connected to at the loopback address
 * without asking the resolver, as RFC 6761 (section 6.3) has name libraries do and as curl
 * does. The reason here is cost, not only principle: before resolving a name, Node checks
 * it against its IPv6 address pattern, and the first such check in a process compiles that
 * large regular expression (7-11 ms of CPU here, measured with `net.isIP('localhost')`),
 * then the resolver's own check runs it again. For a command that lives 150 ms, that is a
 * noticeable share spent learning that localhost is 127.0.0.1.
 *
 * The IPv4 loopback is tried first; a client that finds it refused tries `::1` (a server
 * listening on the IPv6 loopback only), as a resolver answering both would.
 */

/** The address to connect to instead of asking the resolver for `hostname`, if it is a loopback name. */
export function loopbackAddress(hostname: string): string | undefined {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') ? '127.0.0.1' : undefined;
}

/** The loopback address to try after `address` was refused, if any. */
export function nextLoopbackAddress(address: string): string | undefined {
  return address === '127.0.0.1' ? '::1' : undefined;
}
