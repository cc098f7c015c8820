package io.ringraft.runtime;

import io.ringraft.engine.Engine;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The receiving side of InstallSnapshot on a follower: writes the leader's chunks, in order, into
 * a snapshot being created in the store, and commits it when the last chunk arrived intact. The
 * engine hears how far the transfer got only after it finished handling the message that carried
 * the chunk ({@link #reportTo(Engine)}), since the engine's handler must not be re-entered.
 */
final class SnapshotReceiver
{
    private final RaftSnapshotStore snapshots;
    private SnapshotWriter receiving;
    private SnapshotMeta receivingMeta;
    private long receivingOffset;
    private final java.util.zip.CRC32C receivingCrc = new java.util.zip.CRC32C();
    // What the last chunk achieved, for the engine once the message is handled.
    private boolean stored;
    private long storedLeader;
    private SnapshotMeta storedMeta;
    private long storedOffset;
    private boolean storedComplete;

    SnapshotReceiver(final RaftSnapshotStore snapshots)
    {
        this.snapshots = snapshots;
    }

    /** Writes a chunk from the leader into the snapshot store. */
    void store(final InstallSnapshotRequest request)
    {
        final SnapshotMeta meta = request.meta();
        if (receivingMeta == null || !receivingMeta.equals(meta))
        {
            if (request.offset() != 0)
            {
                stored(request.from(), meta, 0, false); // not the snapshot under way: start over
                return;
            }
            abort();
            receiving = snapshots.create(meta);
            receivingMeta = meta;
            receivingOffset = 0;
            receivingCrc.reset();
        }
        if (request.offset() == receivingOffset)
        {
            receiving.write(new UnsafeBuffer(request.chunk()), 0, request.chunk().length);
            receivingCrc.update(request.chunk(), 0, request.chunk().length);
            receivingOffset += request.chunk().length;
        }
        if (request.done() && receivingOffset == meta.sizeBytes())
        {
            if ((int)receivingCrc.getValue() != meta.crc32c())
            {
                // Corrupt in transit, or forged: never committed to the store, where it would pass
                // for the newest snapshot (and a later transfer be taken for done). Start over.
                abort();
                stored(request.from(), meta, 0, false);
                return;
            }
            final SnapshotMeta latest = snapshots.latest();
            if (latest != null && latest.lastIncluded().index() >= meta.lastIncluded().index())
            {
                // This node holds a snapshot at least as recent: keep it (the store keeps only the
                // newest) and report the transfer done; the engine installs nothing older.
                abort();
                stored(request.from(), meta, meta.sizeBytes(), true);
                return;
            }
            final SnapshotMeta committed = receiving.commit();
            receiving = null;
            receivingMeta = null;
            if (committed.crc32c() != meta.crc32c() || committed.sizeBytes() != meta.sizeBytes())
            {
                stored(request.from(), meta, 0, false); // corrupt in transit: start over
                return;
            }
            stored(request.from(), committed, committed.sizeBytes(), true);
            return;
        }
        stored(request.from(), meta, receivingOffset, false);
    }

    /** Tells the engine what the chunk stored since the last call achieved, if one was. */
    void reportTo(final Engine engine)
    {
        if (stored)
        {
            stored = false;
            final SnapshotMeta meta = storedMeta;
            storedMeta = null;
            engine.onSnapshotChunkStored(storedLeader, meta, storedOffset, storedComplete);
        }
    }

    /** Drops the snapshot being received, if any. */
    void abort()
    {
        if (receiving != null)
        {
            receiving.abort();
            receiving = null;
            receivingMeta = null;
        }
    }

    private void stored(final long leader, final SnapshotMeta meta, final long nextOffset, final boolean complete)
    {
        stored = true;
        storedLeader = leader;
        storedMeta = meta;
        storedOffset = nextOffset;
        storedComplete = complete;
    }
}
