package io.ringraft.runtime;

import org.agrona.IoUtil;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node's counters, in Agrona counters (the format Aeron's tooling reads): written by the node's
 * threads with ordered stores, readable from any thread — and from other processes when they live
 * in a file ({@link #readFile(Path)}).
 * <p>
 * File layout: a 64-byte header (a magic number, metadata length, values length, node
 * id), then the counters' metadata, then their values.
 */
public final class RaftCounters implements AutoCloseable
{
    /** Counter type id of ringraft counters (distinct from Aeron's own). */
    public static final int TYPE_ID = 1_001;
    private static final long MAGIC = 0x3130305444435252L; // "RRCDT001" little-endian
    private static final int HEADER_LENGTH = 64;

    private final CountersManager manager;
    private final MappedByteBuffer mapped;
    final AtomicCounter term;
    final AtomicCounter role;
    final AtomicCounter leader;
    final AtomicCounter lastLogIndex;
    final AtomicCounter lastLogTerm;
    final AtomicCounter votedFor;
    final AtomicCounter voteCommitted;
    final AtomicCounter flushed;
    final AtomicCounter snapshotIndex;
    final AtomicCounter purgedIndex;
    final AtomicCounter committed;
    final AtomicCounter applied;
    final AtomicCounter backPressure;
    final AtomicCounter sendsRetried;
    final AtomicCounter sendsDropped;
    final AtomicCounter errors;
    final AtomicCounter failed;
    final AtomicCounter callbackErrors;

    /**
     * @param nodeId      the node
     * @param maxCounters how many counters fit
     * @param file        where to keep them for other processes to read, or null to keep them in memory
     */
    RaftCounters(final long nodeId, final int maxCounters, final Path file)
    {
        final int valuesLength = maxCounters * CountersManager.COUNTER_LENGTH;
        final int metaLength = valuesLength * (CountersManager.METADATA_LENGTH / CountersManager.COUNTER_LENGTH);
        final AtomicBuffer meta;
        final AtomicBuffer values;
        if (file == null)
        {
            mapped = null;
            meta = new UnsafeBuffer(ByteBuffer.allocateDirect(metaLength));
            values = new UnsafeBuffer(ByteBuffer.allocateDirect(valuesLength));
        }
        else
        {
            try
            {
                Files.createDirectories(file.toAbsolutePath().getParent());
                Files.deleteIfExists(file);
            }
            catch (final java.io.IOException ex)
            {
                throw new IllegalArgumentException("countersFile=" + file + ": cannot create it: " + ex.getMessage(), ex);
            }
            mapped = IoUtil.mapNewFile(file.toFile(), HEADER_LENGTH + metaLength + valuesLength);
            final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
            header.putInt(8, metaLength);
            header.putInt(12, valuesLength);
            header.putLong(16, nodeId);
            meta = new UnsafeBuffer(mapped, HEADER_LENGTH, metaLength);
            values = new UnsafeBuffer(mapped, HEADER_LENGTH + metaLength, valuesLength);
            header.putLongVolatile(0, MAGIC);
        }
        manager = new CountersManager(meta, values);
        final String prefix = "ringraft node " + nodeId + " ";
        term = manager.newCounter(prefix + "term", TYPE_ID);
        role = manager.newCounter(prefix + "role", TYPE_ID);
        leader = manager.newCounter(prefix + "leader", TYPE_ID);
        lastLogIndex = manager.newCounter(prefix + "last log index", TYPE_ID);
        lastLogTerm = manager.newCounter(prefix + "last log term", TYPE_ID);
        votedFor = manager.newCounter(prefix + "voted for", TYPE_ID);
        voteCommitted = manager.newCounter(prefix + "vote committed", TYPE_ID);
        flushed = manager.newCounter(prefix + "flushed index", TYPE_ID);
        snapshotIndex = manager.newCounter(prefix + "snapshot index", TYPE_ID);
        purgedIndex = manager.newCounter(prefix + "purged index", TYPE_ID);
        committed = manager.newCounter(prefix + "committed index", TYPE_ID);
        applied = manager.newCounter(prefix + "applied index", TYPE_ID);
        backPressure = manager.newCounter(prefix + "ingress back-pressure events", TYPE_ID);
        sendsRetried = manager.newCounter(prefix + "sends retried", TYPE_ID);
        sendsDropped = manager.newCounter(prefix + "sends dropped", TYPE_ID);
        errors = manager.newCounter(prefix + "errors", TYPE_ID);
        failed = manager.newCounter(prefix + "failed (1 once the node failed and stopped)", TYPE_ID);
        callbackErrors = manager.newCounter(prefix + "application callback errors", TYPE_ID);
    }

    /**
     * @param label what it counts
     * @return a new counter, e.g. the match index of a peer, reusing the slot of one closed
     *         earlier; null when every slot is taken
     */
    AtomicCounter newCounter(final String label)
    {
        return manager.available() > 0 ? manager.newCounter(label, TYPE_ID) : null;
    }

    /** @return the counters, for tools that list them */
    public CountersReader reader()
    {
        return manager;
    }

    /**
     * Reads a counters file written by a running (or stopped) node, from any process.
     *
     * @param file the node's counters file
     * @return every counter's label and value, in allocation order
     * @throws IllegalArgumentException if the file is not a ringraft counters file
     */
    public static Map<String, Long> readFile(final Path file)
    {
        final File f = file.toFile();
        if (!f.isFile())
        {
            throw new IllegalArgumentException("no counters file at " + file);
        }
        final MappedByteBuffer buffer = IoUtil.mapExistingFile(f, "ringraft counters");
        try
        {
            final UnsafeBuffer header = new UnsafeBuffer(buffer, 0, HEADER_LENGTH);
            if (header.getLongVolatile(0) != MAGIC)
            {
                throw new IllegalArgumentException(file + " is not a ringraft counters file");
            }
            final int metaLength = header.getInt(8);
            final int valuesLength = header.getInt(12);
            final CountersReader reader = new CountersReader(new UnsafeBuffer(buffer, HEADER_LENGTH, metaLength),
                new UnsafeBuffer(buffer, HEADER_LENGTH + metaLength, valuesLength));
            final Map<String, Long> result = new LinkedHashMap<>();
            reader.forEach((counterId, typeId, keyBuffer, label) -> result.put(label, reader.getCounterValue(counterId)));
            return result;
        }
        finally
        {
            IoUtil.unmap(buffer);
        }
    }

    @Override
    public void close()
    {
        if (mapped != null)
        {
            IoUtil.unmap(mapped);
        }
    }
}
