package io.ringraft;

/**
 * The persisted vote of a node: the highest term it has seen and whom it voted for in that term.
 * It must be durable before a node answers a vote request (Raft §5.2, Figure 2 "Persistent state").
 *
 * @param term      the current term, {@code >= 0}
 * @param votedFor  the node voted for in {@code term}, or {@link #NO_NODE}
 * @param committed true once the node knows that {@code votedFor} won {@code term} (it is, or has
 *                  heard from, the elected leader of that term)
 */
public record Vote(long term, long votedFor, boolean committed)
{
    /** The node id meaning "nobody"; real node ids are positive. */
    public static final long NO_NODE = 0;

    /** The vote of a node that has never voted. */
    public static final Vote INITIAL = new Vote(0, NO_NODE, false);

    public Vote
    {
        if (term < 0 || votedFor < 0)
        {
            throw new IllegalArgumentException("Vote term and votedFor must be >= 0: term=" + term + " votedFor=" + votedFor);
        }
    }

    @Override
    public String toString()
    {
        return "T" + term + (votedFor == NO_NODE ? "-none" : "-N" + votedFor) + (committed ? "-committed" : "");
    }
}
