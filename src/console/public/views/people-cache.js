/**
 * The people the last searches returned (their account state and emails), so the person view
 * can show them without asking again; a person opened from a link is looked up instead.
 */
const people = new Map();
const MAX = 500;

const keyOf = (connection, userName) => `${connection}\u0000${String(userName).toLowerCase()}`;

/** Keeps search results (at most the last 500 people). */
export function rememberPeople(list) {
  for (const p of list) {
    people.delete(keyOf(p.connection, p.userName));
    people.set(keyOf(p.connection, p.userName), p);
  }
  while (people.size > MAX) people.delete(people.keys().next().value);
}

/** A person seen in a search, or undefined. */
export const rememberedPerson = (connection, userName) => people.get(keyOf(connection, userName));
