package io.ringraft.network;

/**
 * A message between two nodes of one cluster. Every message carries its sender, its addressee
 * and the sender's term, which is how stale leaders and candidates learn that they are stale
 * (Raft §5.1).
 */
public sealed interface RaftMessage
    permits VoteRequest, VoteResponse, AppendEntriesRequest, AppendEntriesResponse,
    InstallSnapshotRequest, InstallSnapshotResponse, TimeoutNow, ReadIndexRequest, ReadIndexResponse, Introduce
{
    /** @return the sending node */
    long from();

    /** @return the receiving node */
    long to();

    /** @return the sender's term */
    long term();

    /**
     * Messages the runtime reuses (AppendEntries and its response, which travel on every write)
     * are valid only during the call that hands them over: a receiver or an output that keeps one
     * keeps this copy instead.
     *
     * @return a message that stays valid; an immutable message returns itself
     */
    default RaftMessage copy()
    {
        return this;
    }
}
