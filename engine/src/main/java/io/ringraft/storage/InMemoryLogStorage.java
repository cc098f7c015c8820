package io.ringraft.storage;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;

/**
 * A {@link RaftLogStorage} in the heap: nothing survives the process. For tests, the simulator
 * and embedders whose durability comes from elsewhere. {@link #flush()} reports every entry
 * durable at once.
 */
public class InMemoryLogStorage implements RaftLogStorage
{
    private final ArrayList<Entry> entries = new ArrayList<>();
    private final UnsafeBuffer readBuffer = new UnsafeBuffer(new byte[0]);
    private Vote vote = Vote.INITIAL;
    private LogId lastPurged = LogId.ZERO;
    private boolean closed;

    @Override
    public Vote readVote()
    {
        ensureOpen();
        return vote;
    }

    @Override
    public void saveVote(final Vote vote)
    {
        ensureOpen();
        this.vote = vote;
    }

    @Override
    public LogId lastPurgedLogId()
    {
        return lastPurged;
    }

    @Override
    public LogId lastLogId()
    {
        return entries.isEmpty() ? lastPurged : entries.get(entries.size() - 1).logId();
    }

    @Override
    public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset, final int length)
    {
        append(Entry.copyOf(term, index, type, payload, offset, length));
    }

    @Override
    public void append(final Entry entry)
    {
        ensureOpen();
        final LogId last = lastLogId();
        RaftLogStorage.requireNext(last.term(), last.index(), entry.term(), entry.index());
        entries.add(entry);
    }

    @Override
    public LogId flush()
    {
        ensureOpen();
        return lastLogId();
    }

    @Override
    public void truncateSuffix(final long fromIndex)
    {
        ensureOpen();
        if (fromIndex <= lastPurged.index())
        {
            throw new IllegalArgumentException("truncate from " + fromIndex + " reaches into the purged prefix (last purged " + lastPurged + ")");
        }
        final long keep = fromIndex - lastPurged.index() - 1;
        while (entries.size() > keep)
        {
            entries.remove(entries.size() - 1);
        }
    }

    @Override
    public void purgePrefix(final LogId upTo)
    {
        ensureOpen();
        if (upTo.index() <= lastPurged.index())
        {
            return;
        }
        final long drop = Math.min(entries.size(), upTo.index() - lastPurged.index());
        entries.subList(0, (int)drop).clear();
        lastPurged = upTo;
    }

    @Override
    public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
    {
        ensureOpen();
        final long first = lastPurged.index() + 1;
        final long last = lastLogId().index();
        if (fromIndex < first || fromIndex > last + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + first + ".." + last);
        }
        int count = 0;
        for (long i = fromIndex; i < toIndexExclusive && i <= last; i++)
        {
            final Entry e = entries.get((int)(i - first));
            final byte[] bytes = e.payload();
            readBuffer.wrap(bytes);
            count++;
            if (!reader.onEntry(e.term(), e.index(), e.type(), readBuffer, 0, bytes.length))
            {
                break;
            }
        }
        return count;
    }

    @Override
    public Entry entry(final long index)
    {
        ensureOpen();
        final long first = lastPurged.index() + 1;
        if (index < first || index > lastLogId().index())
        {
            throw new IllegalArgumentException("no entry at index " + index + " (log is " + lastPurged + ".." + lastLogId() + ")");
        }
        return entries.get((int)(index - first));
    }

    @Override
    public void close()
    {
        closed = true;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("storage is closed");
        }
    }
}
