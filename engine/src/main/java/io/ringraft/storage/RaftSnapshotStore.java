package io.ringraft.storage;

/**
 * Where a node keeps its snapshots. A snapshot becomes visible through {@link #latest()} only
 * when its writer commits, all at once, and survives a crash from then on; a half-written
 * snapshot is never visible. Committing a snapshot may delete older ones. The latest never goes
 * back: a snapshot committed after one that covers more (a build that finished after a newer
 * snapshot was received from the leader) is discarded, and {@link #latest()} stays the newer one.
 */
public interface RaftSnapshotStore extends AutoCloseable
{
    /** @return the newest committed snapshot, or null if there is none */
    SnapshotMeta latest();

    /**
     * Starts writing a snapshot.
     *
     * @param lastIncluded what it will cover (size and checksum are filled in on commit)
     * @return a writer; commit or abort it
     */
    SnapshotWriter create(SnapshotMeta lastIncluded);

    /**
     * @param meta a committed snapshot's meta
     * @return a reader over its data
     * @throws RaftStorageException if the snapshot is gone or its data does not match its checksum
     */
    SnapshotReader open(SnapshotMeta meta);

    /**
     * @return true if committed snapshots survive a restart of the process (they are kept in
     *         files); {@code Raft.start} refuses a durable log with a store that is not. The
     *         default is false (snapshots in memory)
     */
    default boolean isDurable()
    {
        return false;
    }

    @Override
    void close();
}
