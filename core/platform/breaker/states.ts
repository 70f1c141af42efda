/** A circuit breaker's states, named once for the code and for the SQL that writes them. */
export const BreakerStates = { closed: "CLOSED", open: "OPEN", halfOpen: "HALF_OPEN" } as const;
export type BreakerState = (typeof BreakerStates)[keyof typeof BreakerStates];
export const breakerStateNames = Object.values(BreakerStates) as readonly BreakerState[];

/** The value of a breaker state gauge (the seed's m11_circuit_breaker_state: 0, 1, 2). */
export const breakerStateValue: Record<BreakerState, number> = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 };
