package io.ringraft.engine;

/**
 * Deliberate protocol bugs, for proving that the simulator's checkers catch them. Test-only:
 * never set one outside a test of the checkers.
 */
public enum PlantedBug
{
    /** No bug: the protocol as specified. */
    NONE,
    /** The leader commits an entry of an older term by counting replicas (the Figure 8 bug of Raft §5.4.2). */
    COMMIT_OLD_TERM_BY_COUNTING,
    /** A voter grants a vote to every candidate of a term, not only the first. */
    DOUBLE_VOTE,
    /** A follower acknowledges entries before they are durable. */
    ACK_BEFORE_DURABLE,
    /**
     * The leader commits what it alone holds durably, without a quorum: a leader cut off or killed
     * loses writes it acknowledged (what a fault-injection run against real processes must catch).
     */
    COMMIT_WITHOUT_QUORUM
}
