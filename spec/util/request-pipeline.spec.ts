import {
  Subject,
  filter,
  finalize,
  map,
  mergeMap,
  take,
  timer,
  type MonoTypeOperatorFunction,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionRefusedError, HookError } from '../../src';
import { RequestPipeline, type PipedRequest } from '../../src/util/request-pipeline';

class Req implements PipedRequest {
  refusals: ConnectionRefusedError[] = [];
  proceeded = 0;
  constructor(readonly name: string) {}
  get refused(): boolean {
    return this.refusals.length > 0;
  }
  refuse(reason: ConnectionRefusedError): void {
    if (!this.refused) this.refusals.push(reason);
  }
  proceed(): void {
    this.proceeded++;
  }
}

function pipelineOf(operator: MonoTypeOperatorFunction<Req>) {
  const failures: HookError[] = [];
  let subscriptions = 0;
  const pipeline = new RequestPipeline<Req>({
    name: 'connectionPipeline',
    operator: (source) => {
      subscriptions++;
      return operator(source);
    },
    onFailure: (e) => failures.push(e),
  });
  return { pipeline, failures, subscriptions: () => subscriptions };
}

describe('RequestPipeline', () => {
  it('carries on what the operator emits, once, and refuses nothing itself', () => {
    const { pipeline, subscriptions } = pipelineOf(filter((r) => r.name !== 'b'));
    const [a, b, c] = [new Req('a'), new Req('b'), new Req('c')];
    for (const r of [a, b, c]) pipeline.push(r);
    expect([a.proceeded, b.proceeded, c.proceeded]).toEqual([1, 0, 1]);
    expect(b.refused).toBe(false);
    expect(subscriptions()).toBe(1);
    // b is held (the handshake timeout ends it): it stays in the pipeline until forgotten.
    expect(pipeline.size).toBe(1);
    pipeline.forget(b);
    expect(pipeline.size).toBe(0);
  });

  it('subscribes the operator once for every request, so stateful operators count them all', () => {
    const every2nd: MonoTypeOperatorFunction<Req> = (source) => {
      let n = 0;
      return source.pipe(
        filter((r) => {
          if (++n % 2 === 1) return true;
          r.refuse(new ConnectionRefusedError('ERR_CONNECTION_REFUSED', 'every 2nd'));
          return false;
        }),
      );
    };
    const { pipeline, subscriptions } = pipelineOf(every2nd);
    const reqs = ['a', 'b', 'c', 'd'].map((n) => new Req(n));
    for (const r of reqs) pipeline.push(r);
    expect(reqs.map((r) => [r.proceeded, r.refusals.map((e) => e.message)])).toEqual([
      [1, []],
      [0, ['every 2nd']],
      [1, []],
      [0, ['every 2nd']],
    ]);
    expect(subscriptions()).toBe(1);
  });

  it('lets the operator decide later, in virtual time, in the order it answers', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const order: Array<[string, number]> = [];
    scheduler.run(({ flush }) => {
      const { pipeline } = pipelineOf(
        mergeMap((r) => timer(r.name === 'a' ? 30 : 10).pipe(map(() => r))),
      );
      const [a, b] = [new Req('a'), new Req('b')];
      a.proceed = () => order.push(['a', scheduler.now()]);
      b.proceed = () => order.push(['b', scheduler.now()]);
      pipeline.push(a);
      pipeline.push(b);
      expect(pipeline.size).toBe(2);
      flush();
      expect(pipeline.size).toBe(0);
    });
    expect(order).toEqual([
      ['b', 10],
      ['a', 30],
    ]);
  });

  it('on an error, reports ERR_HOOK, refuses the requests inside and subscribes again for the next', () => {
    const boom = new Error('boom');
    const held = new Subject<Req>();
    const { pipeline, failures, subscriptions } = pipelineOf((source) =>
      source.pipe(
        mergeMap((r) => {
          if (r.name === 'bad') throw boom;
          return r.name === 'wait' ? held : [r];
        }),
      ),
    );
    const waiting = new Req('wait');
    pipeline.push(waiting);
    pipeline.push(new Req('bad'));
    expect(failures.map((e) => [e.code, e.status, e.message, e.cause])).toEqual([
      ['ERR_HOOK', 500, 'connectionPipeline failed: boom', boom],
    ]);
    expect(waiting.refusals.map((e) => [e.code, e.status, e.message])).toEqual([
      ['ERR_CONNECTION_REFUSED', 500, 'connectionPipeline failed: boom'],
    ]);
    const next = new Req('next');
    pipeline.push(next);
    expect(next.proceeded).toBe(1);
    expect(subscriptions()).toBe(2);
  });

  it('reports an operator that throws or returns no Observable, and refuses that request', () => {
    const { pipeline, failures } = pipelineOf(() => 42 as never);
    const r = new Req('a');
    pipeline.push(r);
    expect(failures.map((e) => e.message)).toEqual([
      'connectionPipeline failed: it returned 42, not an Observable',
    ]);
    expect(r.refusals.map((e) => e.code)).toEqual(['ERR_CONNECTION_REFUSED']);
  });

  it('refuses every request after the operator completes', () => {
    const { pipeline, failures } = pipelineOf(take(1));
    const reqs = ['a', 'b', 'c'].map((n) => new Req(n));
    for (const r of reqs) pipeline.push(r);
    expect(reqs.map((r) => [r.proceeded, r.refusals.map((e) => [e.status, e.message])])).toEqual([
      [1, []],
      [0, [[403, 'connectionPipeline has completed: no request is accepted']]],
      [0, [[403, 'connectionPipeline has completed: no request is accepted']]],
    ]);
    expect(failures).toEqual([]);
  });

  it('reports a value it emits that is not a request waiting in it, and carries nothing on', () => {
    const stranger = new Req('stranger');
    const { pipeline, failures } = pipelineOf(map(() => stranger));
    const r = new Req('a');
    pipeline.push(r);
    expect(failures.map((e) => e.message)).toEqual([
      'connectionPipeline emitted an object, which is not a request waiting in it',
    ]);
    expect([r.proceeded, stranger.proceeded]).toEqual([0, 0]);
  });

  it('unsubscribes the operator at close(), without reporting its completion', () => {
    let unsubscribed = false;
    const { pipeline, failures } = pipelineOf((source) =>
      source.pipe(finalize(() => (unsubscribed = true))),
    );
    const r = new Req('a');
    pipeline.push(r);
    pipeline.close();
    expect(unsubscribed).toBe(true);
    expect(failures).toEqual([]);
    expect(pipeline.size).toBe(0);
  });
});
