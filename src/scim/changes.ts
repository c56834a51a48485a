import type { Subject } from "../connector-kit.js";
import type { QueryResult, Statement } from "../storage/db.js";

/**
 * The seam between the SCIM edge and the engine (issue: "every SCIM write passes through one
 * function that knows the change"). Each write asks `ChangeRecorder.statements(change)` for the
 * SQL that records it and runs those statements in the write's own transaction, right after the
 * write: they commit or roll back together with the resource, so the IdP's answer implies both
 * (DESIGN.md principle 1). Statements rather than a callback holding the transaction: the write
 * and its record travel to the database in one batch, and the embedded database is never held
 * while this process is busy with other requests. What needs a read can read in SQL
 * (`insert … select … from targets where …`).
 */
export interface MemberRef {
  /** The member's SCIM id. */
  value: string;
  type: "User" | "Group";
}

export type ScimChange =
  | { type: "user.created"; connectionId: string; userId: string; userName: string; active: boolean }
  | {
      type: "user.updated";
      connectionId: string;
      userId: string;
      userName: string;
      /** `active` before and after this write: true → false is a deactivation. */
      before: { active: boolean; userName: string };
      after: { active: boolean; userName: string };
    }
  | {
      type: "user.deleted";
      connectionId: string;
      userId: string;
      userName: string;
      wasActive: boolean;
      /** The subject as it was before the delete: the row is gone when the statements run. */
      subject: Subject;
      /** Groups the user was removed from because the user was deleted. */
      removedFromGroups: string[];
    }
  | { type: "group.created"; connectionId: string; groupId: string; displayName: string; membersAdded: MemberRef[] }
  | {
      type: "group.updated";
      connectionId: string;
      groupId: string;
      displayName: string;
      membersAdded: MemberRef[];
      membersRemoved: MemberRef[];
    }
  | { type: "group.deleted"; connectionId: string; groupId: string; displayName: string; membersRemoved: MemberRef[] };

export interface ChangeRecorder {
  /** The statements that record `change`, run after the write in its transaction; a failing one rolls the write back. */
  statements(change: ScimChange): Statement[];
  /**
   * Called once the write and its statements have committed, with the results of this recorder's
   * statements in order (Default: nothing).
   */
  committed?(change: ScimChange, results: readonly QueryResult[]): void;
}

/** Fans one change out to every recorder, in order, in the same transaction; each gets its own results back. */
export function changeRecorders(...recorders: ChangeRecorder[]): ChangeRecorder {
  const counts = new WeakMap<ScimChange, number[]>();
  return {
    statements: (change) => {
      const each = recorders.map((r) => r.statements(change));
      counts.set(change, each.map((s) => s.length));
      return each.flat();
    },
    committed: (change, results) => {
      const lengths = counts.get(change) ?? recorders.map(() => 0);
      let offset = 0;
      recorders.forEach((r, i) => {
        const n = lengths[i] ?? 0;
        r.committed?.(change, results.slice(offset, offset + n));
        offset += n;
      });
    },
  };
}

/** Keeps every committed change in memory: for tests of the seam. */
export function memoryRecorder(): ChangeRecorder & { changes: ScimChange[] } {
  const changes: ScimChange[] = [];
  return { changes, statements: () => [], committed: (change) => changes.push(change) };
}
