package io.ringraft.network;

/**
 * A message between two nodes of one cluster. Every message carries its sender, its addressee
 * and the sender's term, which is how stale leaders and candidates learn that they are stale
 * (Raft §5.1).
 */
public sealed interface RaftMessage
    permits VoteRequest, VoteResponse, AppendEntriesRequest, AppendEntriesResponse,
    InstallSnapshotRequest, InstallSnapshotResponse, TimeoutNow, ReadIndexRequest, ReadIndexResponse
{
    /** @return the sending node */
    long from();

    /** @return the receiving node */
    long to();

    /** @return the sender's term */
    long term();
}
