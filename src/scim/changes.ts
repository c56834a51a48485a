import type { Db } from "../storage/db.js";

/**
 * The seam between the SCIM edge and the engine (issue: "every SCIM write passes through one
 * function that knows the change"). Each write calls `ChangeRecorder.record` with what changed,
 * inside the write's own transaction: whatever a recorder writes with `tx` commits or rolls back
 * together with the resource, so the IdP's answer implies both (DESIGN.md principle 1).
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
  /** Called inside the write's transaction; a throw rolls the SCIM write back. */
  record(tx: Db, change: ScimChange): Promise<void>;
}

/** Fans one change out to every recorder, in order, in the same transaction. */
export function changeRecorders(...recorders: ChangeRecorder[]): ChangeRecorder {
  return {
    async record(tx, change) {
      for (const recorder of recorders) await recorder.record(tx, change);
    },
  };
}

/** Keeps every change in memory: for tests of the seam. */
export function memoryRecorder(): ChangeRecorder & { changes: ScimChange[] } {
  const changes: ScimChange[] = [];
  return { changes, async record(_tx, change) { changes.push(change); } };
}
