import { ConnectionRefusedError } from '../errors';
import { parseIPv6 } from './address';
import { compileAllowList } from './allow-list';

/** The per-address limits, as the options give them. */
export interface PerAddressLimits {
  /** Connections (open or being opened) one address may hold; Infinity: no limit. */
  readonly maxConnectionsPerAddress: number;
  /** Sockets one address may have between accept and open; Infinity: no limit. */
  readonly maxHandshakesPerAddress: number;
  /** Addresses the two limits do not apply to (allow-list syntax). */
  readonly perAddressExempt: readonly string[];
}

interface Slots {
  /** Sockets between accept and open. */
  handshakes: number;
  /** Sockets between accept and open, and open connections. */
  total: number;
}

/**
 * Who holds the connection slots, by client: fair admission, so that one address can neither
 * take every slot with open connections nor with sockets that never finish their handshake.
 * IPv4 addresses count one by one; IPv6 ones by /64 prefix, the block one subscriber is
 * usually given (one host can use all of it). Exempt addresses (by default the loopback and
 * private ranges, where a reverse proxy or load balancer sits) are not counted.
 */
export class AddressSlots {
  private readonly held = new Map<string, Slots>();
  private readonly exempt: (address: string) => boolean;
  private readonly enabled: boolean;

  constructor(private readonly limits: PerAddressLimits) {
    const list = limits.perAddressExempt;
    this.exempt = list.length === 0 ? () => false : compileAllowList(list);
    this.enabled =
      limits.maxConnectionsPerAddress !== Infinity || limits.maxHandshakesPerAddress !== Infinity;
  }

  /** The key `address` is counted under, or undefined when it is not counted. */
  keyOf(address: string): string | undefined {
    if (!this.enabled || this.exempt(address)) return undefined;
    if (!address.includes(':')) return address;
    const bytes = parseIPv6(address);
    if (!bytes) return address;
    const groups: string[] = [];
    for (let i = 0; i < 8; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
    return `${groups.join(':')}::/64`;
  }

  /** A socket of `key` was accepted: it counts as a handshake (and a connection). */
  entered(key: string | undefined): void {
    if (key === undefined) return;
    const slots = this.held.get(key);
    if (slots) {
      slots.handshakes++;
      slots.total++;
    } else {
      this.held.set(key, { handshakes: 1, total: 1 });
    }
  }

  /**
   * The check of the connection stage: the socket just counted (`entered()`) within both limits.
   * @returns the refusal when it is not.
   */
  check(key: string | undefined, address: string): ConnectionRefusedError | undefined {
    if (key === undefined) return undefined;
    const slots = this.held.get(key)!;
    const { maxConnectionsPerAddress: maxConnections, maxHandshakesPerAddress: maxHandshakes } =
      this.limits;
    if (slots.handshakes > maxHandshakes) {
      return new ConnectionRefusedError(
        'ERR_MAX_HANDSHAKES',
        `maxHandshakesPerAddress (${maxHandshakes}) reached for ${key === address ? address : `${address} (${key})`}`,
      );
    }
    if (slots.total > maxConnections) {
      return new ConnectionRefusedError(
        'ERR_MAX_PER_ADDRESS',
        `maxConnectionsPerAddress (${maxConnections}) reached for ${key === address ? address : `${address} (${key})`}`,
      );
    }
    return undefined;
  }

  /** The socket opened: no longer a handshake, still a connection. */
  opened(key: string | undefined): void {
    if (key === undefined) return;
    this.held.get(key)!.handshakes--;
  }

  /** A socket closed: before it opened (`handshake`), or as an open connection. */
  left(key: string | undefined, handshake: boolean): void {
    if (key === undefined) return;
    const slots = this.held.get(key);
    if (!slots) return;
    if (handshake) slots.handshakes--;
    if (--slots.total === 0) this.held.delete(key);
  }

  /** Addresses (or /64 prefixes) holding slots now. */
  get size(): number {
    return this.held.size;
  }
}

/** The loopback and private ranges: where reverse proxies and load balancers connect from. */
export const PRIVATE_RANGES: readonly string[] = Object.freeze([
  '127.0.0.0/8',
  '::1',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
]);
