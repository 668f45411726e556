import type { EventListener, RunEvent } from "../../core/events.js";
import type { Redactor } from "../../core/secret.js";

/**
 * Every event passes through the run's Redactor before any renderer sees it: the one place where
 * secrets are masked on their way out.
 */
export function redactingBus(redactor: Redactor, listeners: EventListener[]): EventListener {
  return (event: RunEvent) => {
    const safe = redactor.redactDeep(event);
    for (const l of listeners) l(safe);
  };
}
