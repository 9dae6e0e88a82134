import { ShardedMap } from './sharded.js';

/** Members past which an {@link ExpiringSet} splits into shards (as GrowingSet, for the same reason). */
const SPLIT_AT = 4096;

/**
 * Members visited by the cleaning cursor on each add. Every add adds at most one member and
 * visits two, so a full pass over the set takes at most half as many adds as it has members: an
 * expired member is dropped within that many adds, and the set holds at most about twice what is
 * live, whatever the mix of expiries.
 */
const VISITS_PER_ADD = 2;

/**
 * A set whose members expire one by one: a revocation index (the tokens of one role, service
 * account or pod). Every login adds its token to three; a plain set kept every token it was ever
 * given for as long as logins kept coming, ~15 MB a day for a role of 10 000 pods.
 *
 * Expiries are whole units of the caller's choosing (the memory store: seconds from its creation,
 * rounded up), small integers that V8 keeps inline: no heap object per member. Expired members are
 * dropped as others are added, by a cursor that walks the set a few members per add (a live Map
 * iterator sees deletions and additions made meanwhile), not by a pass over all of it at once: a
 * role's index holds hundreds of thousands of members. Readers filter by expiry; an expired member
 * that the cursor has not reached yet is never returned.
 *
 * Written here rather than taken from npm: a sorted structure (a skip list, as Redis's ZSET) costs
 * an object per member and a log factor per add, where the cursor costs neither.
 */
export class ExpiringSet {
  #small: Map<string, number> | undefined = new Map();
  #large: ShardedMap<number> | undefined;
  #cursor: Iterator<[string, number]> | undefined;

  /**
   * Adds `member` expiring at `expiresAt`; one already there keeps the later of its two expiries.
   * Then visits the next few members and drops those expired by `now`.
   */
  add(member: string, expiresAt: number, now: number): void {
    const current = this.#get(member);
    if (current === undefined || current < expiresAt) this.#set(member, expiresAt);
    this.#clean(now);
  }

  /** The members live at `now` (expiring after it). */
  members(now: number): string[] {
    const out: string[] = [];
    for (const [m, expiresAt] of this.#entries()) if (expiresAt > now) out.push(m);
    return out;
  }

  /** Every member held, expired ones the cursor has not reached included (a raw view, for tests). */
  *held(): IterableIterator<string> {
    for (const [m] of this.#entries()) yield m;
  }

  delete(member: string): boolean {
    return this.#small?.delete(member) ?? this.#large?.delete(member) ?? false;
  }

  /** Members held, expired ones the cursor has not reached included. */
  get size(): number {
    return this.#small?.size ?? this.#large?.size ?? 0;
  }

  #get(member: string): number | undefined {
    return this.#small !== undefined ? this.#small.get(member) : this.#large?.get(member);
  }

  #set(member: string, expiresAt: number): void {
    if (this.#small === undefined) {
      this.#large?.set(member, expiresAt);
      return;
    }
    this.#small.set(member, expiresAt);
    if (this.#small.size > SPLIT_AT) {
      this.#large = new ShardedMap<number>(64);
      for (const [m, e] of this.#small) this.#large.set(m, e);
      this.#small = undefined;
      this.#cursor = undefined;
    }
  }

  #entries(): IterableIterator<[string, number]> {
    return this.#small !== undefined ? this.#small.entries() : (this.#large as ShardedMap<number>).entries();
  }

  #clean(now: number): void {
    for (let n = 0; n < VISITS_PER_ADD; n++) {
      this.#cursor ??= this.#entries();
      const next = this.#cursor.next();
      if (next.done === true) {
        // One pass done: the next add starts another (not this one, so that a set of one member
        // is not walked twice per add).
        this.#cursor = undefined;
        return;
      }
      if (next.value[1] <= now) this.delete(next.value[0]);
    }
  }
}
