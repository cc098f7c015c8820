package io.ringraft.nemesis;

import io.aeron.CncFileDescriptor;
import io.ringraft.server.RingraftNode;
import io.ringraft.transport.aeron.TransportCounters;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.status.CountersReader;

import java.io.File;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads every running node's transport counters from its media driver's counters file (the
 * directory its {@code node.pid} names): how many sends it dropped because the peer's publication
 * was not connected. Sampled at each heal and two seconds later, this is what a heal costs in
 * sends lost while Aeron reconnects.
 */
final class TransportProbe
{
    /**
     * One node's counter at one moment.
     *
     * @param aeronDir     the media driver directory it was read from (a restarted node has a new one)
     * @param notConnected sends dropped as not connected so far
     */
    record Sample(String aeronDir, long notConnected)
    {
    }

    private TransportProbe()
    {
    }

    /**
     * @param dataDirs every node's data directory, by id
     * @return the counter of every node that runs and could be read
     */
    static Map<Long, Sample> sample(final Map<Long, Path> dataDirs)
    {
        final Map<Long, Sample> result = new HashMap<>();
        dataDirs.forEach((id, dir) ->
        {
            final RingraftNode.PidFile pid = RingraftNode.readPidFile(dir);
            if (pid == null || pid.aeronDir() == null || !pid.alive())
            {
                return;
            }
            final long value = read(pid.aeronDir(), "ringraft transport node=" + id + " sends not connected");
            if (value >= 0)
            {
                result.put(id, new Sample(pid.aeronDir(), value));
            }
        });
        return result;
    }

    /** @return the sum over the nodes sampled both times from the same driver of how much the counter grew */
    static long growth(final Map<Long, Sample> before, final Map<Long, Sample> after)
    {
        long sum = 0;
        for (final Map.Entry<Long, Sample> e : after.entrySet())
        {
            final Sample b = before.get(e.getKey());
            if (b != null && b.aeronDir().equals(e.getValue().aeronDir()))
            {
                sum += Math.max(0, e.getValue().notConnected() - b.notConnected());
            }
        }
        return sum;
    }

    private static long read(final String aeronDir, final String label)
    {
        final File cnc = new File(aeronDir, CncFileDescriptor.CNC_FILE);
        if (!cnc.isFile())
        {
            return -1;
        }
        MappedByteBuffer buffer = null;
        try
        {
            buffer = IoUtil.mapExistingFile(cnc, "cnc");
            final DirectBuffer meta = CncFileDescriptor.createMetaDataBuffer(buffer);
            final CountersReader reader = new CountersReader(CncFileDescriptor.createCountersMetaDataBuffer(buffer, meta),
                CncFileDescriptor.createCountersValuesBuffer(buffer, meta));
            final long[] value = {-1};
            reader.forEach((counterId, typeId, key, counterLabel) ->
            {
                if (typeId == TransportCounters.TYPE_ID && counterLabel.equals(label))
                {
                    value[0] = reader.getCounterValue(counterId);
                }
            });
            return value[0];
        }
        catch (final RuntimeException ex)
        {
            return -1; // the node is going away: no sample
        }
        finally
        {
            if (buffer != null)
            {
                IoUtil.unmap(buffer);
            }
        }
    }
}
