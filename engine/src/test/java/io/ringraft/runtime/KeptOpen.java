package io.ringraft.runtime;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;

/** Heap storage that outlives a node's close, so a test can restart the node on it as on a disk. */
final class KeptOpen
{
    private KeptOpen()
    {
    }

    static RaftLogStorage log(final InMemoryLogStorage log)
    {
        return new RaftLogStorage()
        {
            public Vote readVote()
            {
                return log.readVote();
            }

            public void saveVote(final Vote vote)
            {
                log.saveVote(vote);
            }

            public LogId lastPurgedLogId()
            {
                return log.lastPurgedLogId();
            }

            public LogId lastLogId()
            {
                return log.lastLogId();
            }

            public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
                final int length)
            {
                log.append(term, index, type, payload, offset, length);
            }

            public void saveCommitted(final long commitIndex)
            {
                log.saveCommitted(commitIndex);
            }

            public long readCommitted()
            {
                return log.readCommitted();
            }

            public long flush()
            {
                return log.flush();
            }

            public void truncateSuffix(final long fromIndex)
            {
                log.truncateSuffix(fromIndex);
            }

            public void purgePrefix(final LogId upTo)
            {
                log.purgePrefix(upTo);
            }

            public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
            {
                return log.read(fromIndex, toIndexExclusive, reader);
            }

            public io.ringraft.Entry entry(final long index)
            {
                return log.entry(index);
            }

            public void close()
            {
            }
        };
    }

    static RaftSnapshotStore snapshots(final InMemorySnapshotStore store)
    {
        return new RaftSnapshotStore()
        {
            public SnapshotMeta latest()
            {
                return store.latest();
            }

            public SnapshotWriter create(final SnapshotMeta lastIncluded)
            {
                return store.create(lastIncluded);
            }

            public SnapshotReader open(final SnapshotMeta meta)
            {
                return store.open(meta);
            }

            public void close()
            {
            }
        };
    }
}
