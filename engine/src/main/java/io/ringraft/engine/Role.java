package io.ringraft.engine;

/** The role a node plays in its current term. */
public enum Role
{
    /** Replicates from a leader and votes. */
    FOLLOWER,
    /** Asks for pre-votes: would the cluster elect it if it stood? Its term is unchanged. */
    PRE_CANDIDATE,
    /** Stands for election in a new term. */
    CANDIDATE,
    /** Elected: accepts writes and replicates them. */
    LEADER,
    /** Replicates and applies but never votes or stands (not a voter of the membership). */
    LEARNER
}
