package io.ringraft;

/** How {@link Raft#ensureLinearizable(ReadPolicy)} makes sure a read sees every committed write. */
public enum ReadPolicy
{
    /**
     * ReadIndex (Raft thesis §6.4): the leader confirms its leadership with a quorum round trip;
     * a follower asks the leader for the index. Safe under any clock behaviour.
     */
    READ_INDEX,
    /**
     * A leader lease: no round trip while a quorum answered within the minimum election timeout
     * less the configured clock-drift bound; otherwise as {@link #READ_INDEX}. Correct only while
     * clocks advance at rates that differ by less than that bound.
     */
    LEASE
}
