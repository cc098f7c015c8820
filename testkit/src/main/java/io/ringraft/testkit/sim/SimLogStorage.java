package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftLogStorage;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RaftLogStorage} for the simulator that models a crash: it keeps the image that the
 * last {@link #flush()} made durable beside the current image, and {@link #crash()} throws away
 * every append and truncation made since (the weakest durability the storage contract allows).
 * The vote is durable as soon as it is saved, and so is a purge behind a snapshot.
 * <p>
 * Flush and crash cost only the part of the log that changed since the last flush.
 */
public final class SimLogStorage implements RaftLogStorage
{
    /** What a read or write sees now. */
    private final Image current = new Image();
    /** What the last flush made durable: what a crash leaves. */
    private final Image durable = new Image();
    private final UnsafeBuffer readBuffer = new UnsafeBuffer(new byte[0]);
    /** How many leading entries of both images (which share their purge point) are known to be the same. */
    private int commonPrefix;
    private Vote vote = Vote.INITIAL;
    private long flushes;

    @Override
    public Vote readVote()
    {
        return vote;
    }

    @Override
    public void saveVote(final Vote vote)
    {
        this.vote = vote;
    }

    @Override
    public LogId lastPurgedLogId()
    {
        return current.lastPurged;
    }

    @Override
    public LogId lastLogId()
    {
        return current.lastLogId();
    }

    @Override
    public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
        final int length)
    {
        append(Entry.copyOf(term, index, type, payload, offset, length));
    }

    @Override
    public void append(final Entry entry)
    {
        final LogId last = lastLogId();
        RaftLogStorage.requireNext(last.term(), last.index(), entry.term(), entry.index());
        current.entries.add(entry);
    }

    @Override
    public long flush()
    {
        flushes++;
        durable.copySuffixFrom(current, commonPrefix);
        commonPrefix = current.entries.size();
        return lastLogIndex();
    }

    /**
     * Loses everything not made durable by the last {@link #flush()}: the current image becomes
     * the durable one again.
     */
    public void crash()
    {
        current.copySuffixFrom(durable, commonPrefix);
        commonPrefix = current.entries.size();
    }

    @Override
    public void truncateSuffix(final long fromIndex)
    {
        if (fromIndex <= current.lastPurged.index())
        {
            throw new IllegalArgumentException("truncate from " + fromIndex + " reaches into the purged prefix (last purged " +
                current.lastPurged + ")");
        }
        final long keep = fromIndex - current.lastPurged.index() - 1;
        if (keep < current.entries.size())
        {
            current.entries.subList((int)keep, current.entries.size()).clear();
            commonPrefix = Math.min(commonPrefix, (int)keep);
        }
    }

    /**
     * Purges both images at once: a purge follows a committed snapshot and is durable when it
     * returns (as in the Chronicle log, which commits it to its metadata file). If the durable
     * image does not continue from {@code upTo} (a truncation not yet flushed), its suffix goes
     * too, so the durable image stays one coherent log.
     */
    @Override
    public void purgePrefix(final LogId upTo)
    {
        if (upTo.index() <= current.lastPurged.index())
        {
            return;
        }
        final boolean durableContinues = durable.termAt(upTo.index()) == upTo.term();
        durable.purge(upTo);
        if (!durableContinues)
        {
            durable.entries.clear();
        }
        current.purge(upTo);
        // Both images now start at the same purge point; the next flush or crash copies the whole rest.
        commonPrefix = 0;
    }

    @Override
    public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
    {
        final long first = current.lastPurged.index() + 1;
        final long last = lastLogId().index();
        if (fromIndex < first || fromIndex > last + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + first + ".." + last);
        }
        int count = 0;
        for (long i = fromIndex; i < toIndexExclusive && i <= last; i++)
        {
            final Entry e = current.get(i);
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
        if (current.termAt(index) < 0 || index == current.lastPurged.index())
        {
            throw new IllegalArgumentException("no entry at index " + index + " (log is " + current.lastPurged + ".." + lastLogId() +
                ")");
        }
        return current.get(index);
    }

    /**
     * @param index an index
     * @return the term of the entry at {@code index}, the last purged term at the purge point, or -1 if absent
     */
    public long termAt(final long index)
    {
        return current.termAt(index);
    }

    /**
     * The entries in {@code [fromIndex, toIndexExclusive)} as an immutable copy (entries are
     * immutable, so they are shared, not copied).
     *
     * @param fromIndex        the first index, present in the log or one past its end
     * @param toIndexExclusive one past the last; clipped to the log's end
     * @return the entries
     */
    public List<Entry> entries(final long fromIndex, final long toIndexExclusive)
    {
        final long first = current.lastPurged.index() + 1;
        final long last = lastLogId().index();
        if (fromIndex < first || fromIndex > last + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + first + ".." + last);
        }
        final long to = Math.min(toIndexExclusive, last + 1);
        if (to <= fromIndex)
        {
            return List.of();
        }
        return List.copyOf(current.entries.subList((int)(fromIndex - first), (int)(to - first)));
    }

    /**
     * @param index an index
     * @return the term of the entry at {@code index} in the durable image, or -1 if it holds none there
     */
    public long durableTermAt(final long index)
    {
        return durable.termAt(index);
    }

    /** @return the last log id of the durable image */
    public LogId durableLastLogId()
    {
        return durable.lastLogId();
    }

    /**
     * @return the last log id up to which the current image is known to equal the durable one: what a
     *         crash now would keep of the current log
     */
    public LogId durablePrefixLogId()
    {
        return commonPrefix == 0 ? current.lastPurged : current.entries.get(commonPrefix - 1).logId();
    }

    /** @return true if an append or truncation since the last {@link #flush()} would be lost by a crash now */
    public boolean hasUnflushedChanges()
    {
        return commonPrefix != current.entries.size() || commonPrefix != durable.entries.size();
    }

    /** @return how many times the log was flushed */
    public long flushes()
    {
        return flushes;
    }

    @Override
    public void close()
    {
    }

    /** One image of the log: the entries after a purge point. */
    private static final class Image
    {
        private final ArrayList<Entry> entries = new ArrayList<>();
        private LogId lastPurged = LogId.ZERO;

        LogId lastLogId()
        {
            return entries.isEmpty() ? lastPurged : entries.get(entries.size() - 1).logId();
        }

        /** @return the term at {@code index}, the purge point's term there, or -1 if the image holds nothing there */
        long termAt(final long index)
        {
            if (index == lastPurged.index())
            {
                return lastPurged.term();
            }
            final long first = lastPurged.index() + 1;
            if (index < first || index >= first + entries.size())
            {
                return -1;
            }
            return get(index).term();
        }

        Entry get(final long index)
        {
            return entries.get((int)(index - lastPurged.index() - 1));
        }

        void purge(final LogId upTo)
        {
            entries.subList(0, (int)Math.min(entries.size(), upTo.index() - lastPurged.index())).clear();
            lastPurged = upTo;
        }

        /** Makes this image equal to {@code other}, whose first {@code common} entries it holds already. */
        void copySuffixFrom(final Image other, final int common)
        {
            entries.subList(common, entries.size()).clear();
            entries.addAll(other.entries.subList(common, other.entries.size()));
        }
    }
}
