package io.ringraft.statemachine;

/**
 * A summary of a {@link KvStateMachine}'s history and contents, equal on two nodes exactly when
 * (up to 64-bit hash collisions) they applied the same command sequence to the same point and hold
 * the same map.
 *
 * @param appliedIndex the last log index applied (blank and membership entries included)
 * @param appliedCount how many commands were applied
 * @param chainHash    a hash chained over every applied command's index, term and bytes, in order
 * @param size         how many keys the map holds
 * @param contentHash  the sum over the map's entries of {@link KvStateMachine#entryHash}: independent
 *                     of order, so a client can compute it from the writes it knows of
 */
public record KvDigest(long appliedIndex, long appliedCount, long chainHash, long size, long contentHash)
{
    /** The digest of an empty state machine. */
    public static final KvDigest EMPTY = new KvDigest(0, 0, 0, 0, 0);

    /**
     * @param other another node's digest
     * @return true if both applied the same sequence and hold the same map
     */
    public boolean sameStateAs(final KvDigest other)
    {
        return appliedCount == other.appliedCount && chainHash == other.chainHash && size == other.size &&
            contentHash == other.contentHash;
    }
}
