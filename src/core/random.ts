import { randomInt } from "node:crypto";

/** Unambiguous letters and digits (no 0/O, 1/l/I): generated secrets are sometimes read by people. */
const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** A random alphanumeric value from the OS's CSPRNG. */
export function randomAlnum(length: number): string {
  return Array.from({ length }, () => ALNUM[randomInt(ALNUM.length)]).join("");
}
