import { Reassembler } from '../../src/connection/reassembler';
import { gc } from '../helpers/gc';

const piece = (data: string | Buffer, eom = false) => ({
  data,
  format: typeof data === 'string' ? ('text' as const) : ('binary' as const),
  eom,
});

function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('Reassembler', () => {
  it('gives a message in one piece back as that piece', () => {
    const whole = piece('hi', true);
    expect(new Reassembler(100, 0).push(whole)).toBe(whole);
  });

  it('joins text cut anywhere between characters, across its blocks', () => {
    const r = new Reassembler(10 * 1024 * 1024, 0);
    const parts = ['é'.repeat(30_000), 'a€', 'x'.repeat(40_000), '😀'.repeat(9_000), 'z'];
    let out;
    for (let i = 0; i < parts.length; i++) out = r.push(piece(parts[i], i === parts.length - 1));
    expect(out?.data).toBe(parts.join(''));
  });

  it('copies small pieces, so a view into a larger buffer is not kept (nor changed later)', () => {
    const backing = Buffer.alloc(64 * 1024, 7);
    const r = new Reassembler(1024, 0);
    r.push(piece(backing.subarray(0, 3)));
    backing.fill(9);
    const out = r.push(piece(Buffer.from([1]), true));
    expect(out?.data).toEqual(Buffer.from([7, 7, 7, 1]));
    expect((out?.data as Buffer).buffer.byteLength).toBeLessThan(64 * 1024);
  });

  it('keeps pieces of 16 KiB or more that own their memory, in order with copied ones', () => {
    const big = Buffer.alloc(20_000, 2);
    const r = new Reassembler(1 << 20, 0);
    r.push(piece(Buffer.from([1])));
    r.push(piece(big));
    // Kept, not copied: what it holds at the end is what the message gets.
    big.fill(4);
    const out = r.push(piece(Buffer.from([3]), true))?.data as Buffer;
    expect(out.length).toBe(20_002);
    expect([out[0], out[1], out[20_000], out[20_001]]).toEqual([1, 4, 4, 3]);
  });

  it('holds a message in memory proportional to its bytes, not to its fragments', () => {
    const r = new Reassembler(10 * 1024 * 1024, 0);
    const one = Buffer.from([5]);
    const before = liveBytes();
    for (let i = 0; i < 500_000; i++) r.push(piece(one));
    const held = liveBytes() - before;
    // 500,000 bytes held; one Buffer per piece would take over 40 MB.
    expect(held).toBeLessThan(2 * 1024 * 1024);
    expect((r.push(piece(one, true))?.data as Buffer).length).toBe(500_001);
  });

  it('decodes text given as bytes once, at the end (the connection path)', () => {
    const r = new Reassembler(1024, 0);
    const bytes = Buffer.from('héllo wörld');
    expect(r.pushBytes(bytes.subarray(0, 3), 'text', false, 3)).toBeUndefined();
    const whole = r.pushBytes(bytes.subarray(3), 'text', true, bytes.length - 3);
    expect(whole?.toString()).toBe('héllo wörld');
  });

  it('counts fragments and bytes against its bounds and drops what it held', () => {
    const r = new Reassembler(10, 2);
    r.push(piece('a'));
    r.push(piece('b'));
    expect(() => r.push(piece('c'))).toThrow('message has more than 2 fragments (maxFragments)');
    expect(r.holding).toBe(false);
    r.push(piece('123456'));
    expect(() => r.push(piece('78901'))).toThrow(
      'message of 11 bytes or more is over the 10-byte limit',
    );
  });
});
