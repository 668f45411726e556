/** The key a saved plan lists a change under: host, phase and step (or `handler: NAME`). */
export const changeKey = (host: string, phase: string, step: string) => `${host}\u0000${phase}\u0000${step}`;
