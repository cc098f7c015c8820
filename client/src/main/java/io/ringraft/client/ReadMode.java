package io.ringraft.client;

/** How a query reads the service's state. */
public enum ReadMode
{
    /** On the leader after a ReadIndex barrier: sees every command acknowledged before the query. */
    LINEARIZABLE,
    /** On the node the client talks to, as it is: may miss recent commands (explicitly stale). */
    LOCAL
}
