package io.ringraft.storage;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;

import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * A {@link RaftSnapshotStore} in the heap: nothing survives the process. Keeps only the latest
 * committed snapshot; for the simulator and tests.
 */
public class InMemorySnapshotStore implements RaftSnapshotStore
{
    private SnapshotMeta latest;
    private byte[] latestData;
    private boolean closed;

    @Override
    public synchronized SnapshotMeta latest()
    {
        ensureOpen();
        return latest;
    }

    @Override
    public SnapshotWriter create(final SnapshotMeta lastIncluded)
    {
        ensureOpen();
        return new Writer(lastIncluded);
    }

    @Override
    public synchronized SnapshotReader open(final SnapshotMeta meta)
    {
        ensureOpen();
        if (latest == null || !latest.equals(meta))
        {
            throw new RaftStorageException("snapshot " + meta.snapshotId() + " is gone (latest is " +
                (latest == null ? "none" : latest.snapshotId()) + ")");
        }
        final byte[] data = latestData;
        final SnapshotMeta opened = latest;
        return new SnapshotReader()
        {
            @Override
            public SnapshotMeta meta()
            {
                return opened;
            }

            @Override
            public long size()
            {
                return data.length;
            }

            @Override
            public int read(final long position, final MutableDirectBuffer dst, final int dstOffset, final int maxLength)
            {
                if (position < 0 || position > data.length)
                {
                    throw new IllegalArgumentException("position " + position + " outside [0, " + data.length + "]");
                }
                final int n = (int)Math.min(maxLength, data.length - position);
                dst.putBytes(dstOffset, data, (int)position, n);
                return n;
            }

            @Override
            public void close()
            {
                // nothing to release
            }
        };
    }

    @Override
    public synchronized void close()
    {
        closed = true;
    }

    private synchronized void install(final SnapshotMeta meta, final byte[] data)
    {
        ensureOpen();
        if (latest != null && meta.lastIncluded().index() < latest.lastIncluded().index())
        {
            return; // finished after a newer one (a build overtaken by a received snapshot): the latest never goes back
        }
        latest = meta;
        latestData = data;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("snapshot store is closed");
        }
    }

    private final class Writer implements SnapshotWriter
    {
        private final SnapshotMeta meta;
        private final ExpandableArrayBuffer data = new ExpandableArrayBuffer(4096);
        private final CRC32C crc = new CRC32C();
        private int length;
        private boolean done;

        Writer(final SnapshotMeta meta)
        {
            this.meta = meta;
        }

        @Override
        public void write(final DirectBuffer buffer, final int offset, final int count)
        {
            if (done)
            {
                throw new IllegalStateException("snapshot " + meta.snapshotId() + " is already committed or aborted");
            }
            data.putBytes(length, buffer, offset, count);
            length += count;
        }

        @Override
        public long position()
        {
            return length;
        }

        @Override
        public SnapshotMeta commit()
        {
            if (done)
            {
                throw new IllegalStateException("snapshot " + meta.snapshotId() + " is already committed or aborted");
            }
            done = true;
            final byte[] bytes = Arrays.copyOf(data.byteArray(), length);
            crc.update(bytes);
            final SnapshotMeta committed = new SnapshotMeta(meta.lastIncluded(), meta.membership(), meta.snapshotId(), length,
                (int)crc.getValue());
            install(committed, bytes);
            return committed;
        }

        @Override
        public void abort()
        {
            done = true;
        }

        @Override
        public void close()
        {
            done = true;
        }
    }
}
