import type { Fact } from "../core/fact.js";
import { quote } from "../core/quote.js";

export interface ServiceState {
  exists: boolean;
  /** UnitFileState: enabled, disabled, masked, static… */
  enabled: string;
  /** ActiveState: active, inactive, failed, activating… */
  active: string;
  /** Monotonic µs of the last start, to tell whether a restart really happened. */
  activeSinceMonotonic: number;
}

export function serviceState(name: string): Fact<ServiceState> {
  return {
    key: `service:${name}`,
    script: `systemctl show -p LoadState,UnitFileState,ActiveState,ActiveEnterTimestampMonotonic -- ${quote(unitName(name))}`,
    parse(out) {
      const kv = new Map(
        out
          .split("\n")
          .map((l) => l.split("=", 2) as [string, string])
          .filter((p) => p.length === 2),
      );
      return {
        exists: kv.get("LoadState") === "loaded",
        enabled: kv.get("UnitFileState") ?? "",
        active: kv.get("ActiveState") ?? "",
        activeSinceMonotonic: Number(kv.get("ActiveEnterTimestampMonotonic") ?? 0),
      };
    },
  };
}

export function unitName(name: string): string {
  return name.includes(".") ? name : `${name}.service`;
}
