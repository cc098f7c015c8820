package io.ringraft.network;

/**
 * The answer to an {@link InstallSnapshotRequest}.
 *
 * @param from       the follower
 * @param to         the leader
 * @param term       the follower's term
 * @param snapshotId the snapshot this answers for
 * @param nextOffset the offset the follower expects next (resumes after a lost chunk)
 * @param done       true once the snapshot is installed
 */
public record InstallSnapshotResponse(long from, long to, long term, String snapshotId, long nextOffset, boolean done)
    implements RaftMessage
{
}
