package io.ringraft.storage;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;

/**
 * A {@link RaftLogStorage} in the heap: nothing survives the process. For tests, the simulator,
 * benchmarks and embedders whose durability comes from elsewhere. {@link #flush()} reports every
 * entry durable at once.
 * <p>
 * Allocation-free in steady state: payloads are copied into blocks of an arena and each entry's
 * (term, type, block, offset, length) into a ring of primitive arrays indexed by log index.
 * Blocks freed by {@link #purgePrefix} and {@link #truncateSuffix} are kept for reuse, so a log
 * that snapshots purge regularly stops allocating once it has reached its largest size; the ring
 * doubles when the log outgrows it.
 */
public class InMemoryLogStorage implements RaftLogStorage
{
    private static final int BLOCK_SIZE = 256 * 1024;
    private static final int INITIAL_CAPACITY = 1024;

    // The entry ring: entry i lives at slot (i & mask) while firstIndex <= i <= lastIndex.
    private long[] terms;
    private byte[] types;
    private long[] blockSeqs;
    private int[] offsets;
    private int[] lengths;
    private int mask;

    // The arena: blocks.get(k) is block number firstBlockSeq + k; payloads never straddle blocks.
    private final ArrayList<byte[]> blocks = new ArrayList<>();
    private final ArrayList<byte[]> spareBlocks = new ArrayList<>();
    private long firstBlockSeq;
    private int blockPosition; // the free space in the last block starts here

    private final UnsafeBuffer readBuffer = new UnsafeBuffer(new byte[0]);
    private Vote vote = Vote.INITIAL;
    private LogId lastPurged = LogId.ZERO;
    private long lastIndex;
    private long lastTerm;
    private LogId lastIdCache = LogId.ZERO;
    private boolean closed;

    /** An empty log that grows as it needs. */
    public InMemoryLogStorage()
    {
        this(INITIAL_CAPACITY, 0);
    }

    /**
     * An empty log sized up front, so that it allocates nothing until it holds more: for
     * embedders that know how long their log gets between snapshots.
     *
     * @param entries      how many entries it holds before its index ring grows
     * @param payloadBytes how many payload bytes it holds before its arena grows
     * @throws IllegalArgumentException if either is negative
     */
    public InMemoryLogStorage(final int entries, final long payloadBytes)
    {
        if (entries < 0 || payloadBytes < 0)
        {
            throw new IllegalArgumentException("entries and payloadBytes must be >= 0: entries=" + entries + " payloadBytes=" +
                payloadBytes);
        }
        final int capacity = BitUtil.findNextPositivePowerOfTwo(Math.max(INITIAL_CAPACITY, entries));
        terms = new long[capacity];
        types = new byte[capacity];
        blockSeqs = new long[capacity];
        offsets = new int[capacity];
        lengths = new int[capacity];
        mask = capacity - 1;
        for (long bytes = 0; bytes < payloadBytes; bytes += BLOCK_SIZE)
        {
            spareBlocks.add(new byte[BLOCK_SIZE]);
        }
    }

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
    public long lastPurgedIndex()
    {
        return lastPurged.index();
    }

    @Override
    public LogId lastLogId()
    {
        LogId id = lastIdCache;
        if (id.index() != lastIndex || id.term() != lastTerm)
        {
            id = lastIndex == lastPurged.index() ? lastPurged : new LogId(lastTerm, lastIndex);
            lastIdCache = id;
        }
        return id;
    }

    @Override
    public long lastLogIndex()
    {
        return lastIndex;
    }

    @Override
    public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
        final int length)
    {
        ensureOpen();
        RaftLogStorage.requireNext(lastTerm, lastIndex, term, index);
        if (index - lastPurged.index() > mask + 1L)
        {
            grow();
        }
        if (blocks.isEmpty() || length > blocks.get(blocks.size() - 1).length - blockPosition)
        {
            addBlock(length);
        }
        final byte[] block = blocks.get(blocks.size() - 1);
        payload.getBytes(offset, block, blockPosition, length);
        final int slot = (int)index & mask;
        terms[slot] = term;
        types[slot] = type.code();
        blockSeqs[slot] = firstBlockSeq + blocks.size() - 1;
        offsets[slot] = blockPosition;
        lengths[slot] = length;
        blockPosition += length;
        lastIndex = index;
        lastTerm = term;
    }

    @Override
    public long flush()
    {
        ensureOpen();
        return lastIndex;
    }

    @Override
    public void truncateSuffix(final long fromIndex)
    {
        ensureOpen();
        if (fromIndex <= lastPurged.index())
        {
            throw new IllegalArgumentException("truncate from " + fromIndex + " reaches into the purged prefix (last purged " + lastPurged + ")");
        }
        if (fromIndex > lastIndex)
        {
            return;
        }
        lastIndex = fromIndex - 1;
        if (lastIndex == lastPurged.index())
        {
            lastTerm = lastPurged.term();
            releaseBlocksAfter(firstBlockSeq - 1);
            blockPosition = 0;
        }
        else
        {
            final int slot = (int)lastIndex & mask;
            lastTerm = terms[slot];
            releaseBlocksAfter(blockSeqs[slot]);
            blockPosition = offsets[slot] + lengths[slot];
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
        lastPurged = upTo;
        if (upTo.index() >= lastIndex)
        {
            lastIndex = upTo.index();
            lastTerm = upTo.term();
            while (!blocks.isEmpty())
            {
                release(blocks.remove(blocks.size() - 1));
            }
            firstBlockSeq = 0;
            blockPosition = 0;
            return;
        }
        final long keepFrom = blockSeqs[(int)(upTo.index() + 1) & mask];
        while (firstBlockSeq < keepFrom)
        {
            release(blocks.remove(0));
            firstBlockSeq++;
        }
    }

    @Override
    public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
    {
        ensureOpen();
        final long first = lastPurged.index() + 1;
        if (fromIndex < first || fromIndex > lastIndex + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + first + ".." + lastIndex);
        }
        int count = 0;
        for (long i = fromIndex; i < toIndexExclusive && i <= lastIndex; i++)
        {
            final int slot = (int)i & mask;
            readBuffer.wrap(blocks.get((int)(blockSeqs[slot] - firstBlockSeq)));
            count++;
            if (!reader.onEntry(terms[slot], i, EntryType.fromCode(types[slot]), readBuffer, offsets[slot], lengths[slot]))
            {
                break;
            }
        }
        return count;
    }

    @Override
    public void close()
    {
        closed = true;
        blocks.clear();
        spareBlocks.clear();
    }

    /** Starts a new block able to hold {@code length} bytes, reusing a spare one when it is large enough. */
    private void addBlock(final int length)
    {
        byte[] block = null;
        if (length <= BLOCK_SIZE && !spareBlocks.isEmpty())
        {
            block = spareBlocks.remove(spareBlocks.size() - 1);
        }
        if (block == null)
        {
            block = new byte[Math.max(BLOCK_SIZE, length)];
        }
        if (blocks.isEmpty())
        {
            firstBlockSeq = 0;
        }
        blocks.add(block);
        blockPosition = 0;
    }

    /** Releases the blocks after block number {@code lastKept}. */
    private void releaseBlocksAfter(final long lastKept)
    {
        while (!blocks.isEmpty() && firstBlockSeq + blocks.size() - 1 > lastKept)
        {
            release(blocks.remove(blocks.size() - 1));
        }
    }

    private void release(final byte[] block)
    {
        if (block.length == BLOCK_SIZE)
        {
            spareBlocks.add(block);
        }
    }

    /** Doubles the entry ring, moving every entry to its slot under the new mask. */
    private void grow()
    {
        final int capacity = BitUtil.findNextPositivePowerOfTwo((mask + 1) * 2);
        final int newMask = capacity - 1;
        final long[] newTerms = new long[capacity];
        final byte[] newTypes = new byte[capacity];
        final long[] newBlockSeqs = new long[capacity];
        final int[] newOffsets = new int[capacity];
        final int[] newLengths = new int[capacity];
        for (long i = lastPurged.index() + 1; i <= lastIndex; i++)
        {
            final int from = (int)i & mask;
            final int to = (int)i & newMask;
            newTerms[to] = terms[from];
            newTypes[to] = types[from];
            newBlockSeqs[to] = blockSeqs[from];
            newOffsets[to] = offsets[from];
            newLengths[to] = lengths[from];
        }
        terms = newTerms;
        types = newTypes;
        blockSeqs = newBlockSeqs;
        offsets = newOffsets;
        lengths = newLengths;
        mask = newMask;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("storage is closed");
        }
    }
}
