package io.ringraft.server.kv;

import io.ringraft.service.Cluster;
import io.ringraft.service.ClusteredService;
import io.ringraft.statemachine.KvDigest;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The example key-value service: the engine's {@link KvStateMachine} hosted as a
 * {@link ClusteredService}, so that it gets sessions (exactly-once writes), cluster time and the
 * client protocol from the service host. Writes are {@link KvStateMachine} commands; queries are
 * {@link KvProtocol#GET} (a value) and {@link KvProtocol#DIGEST} (the state digest), answered from
 * the state machine's concurrent map on the ingress thread.
 * <p>
 * {@code ringraft node} runs it unless the config names another {@code service}.
 */
public final class KvService implements ClusteredService
{
    private final KvStateMachine stateMachine = new KvStateMachine(false);
    private final ExpandableArrayBuffer scratch = new ExpandableArrayBuffer(1024);
    private Cluster cluster;

    @Override
    public void onStart(final Cluster cluster)
    {
        this.cluster = cluster;
    }

    @Override
    public int onCommand(final long sessionId, final long sequence, final long clusterTimeNs, final DirectBuffer command, final int offset,
        final int length, final MutableDirectBuffer response, final int responseOffset)
    {
        final long index = cluster.logIndex();
        final int written = stateMachine.apply(index, 0, command, offset, length, scratch);
        stateMachine.onBatchEnd(index, 0);
        response.putBytes(responseOffset, scratch, 0, written);
        return written;
    }

    @Override
    public int onQuery(final DirectBuffer query, final int offset, final int length, final MutableDirectBuffer response,
        final int responseOffset)
    {
        if (length >= 1 && query.getByte(offset) == KvProtocol.GET)
        {
            final String key = query.getStringWithoutLengthUtf8(offset + 1, length - 1);
            return KvProtocol.writeValue(response, responseOffset, stateMachine.value(key));
        }
        final KvDigest d = stateMachine.digest();
        final long[] fields = {d.appliedIndex(), d.appliedCount(), d.chainHash(), d.size(), d.contentHash()};
        for (int i = 0; i < fields.length; i++)
        {
            response.putLong(responseOffset + i * 8, fields[i]);
        }
        return fields.length * 8;
    }

    @Override
    public void onTakeSnapshot(final SnapshotWriter writer)
    {
        stateMachine.buildSnapshot(writer);
    }

    @Override
    public io.ringraft.statemachine.CapturedSnapshot onCaptureSnapshot()
    {
        return stateMachine.captureSnapshot();
    }

    @Override
    public void onLoadSnapshot(final SnapshotReader reader)
    {
        stateMachine.installSnapshot(reader.meta(), reader);
    }

    /** @return the state machine (its digest and map, for checks) */
    public KvStateMachine stateMachine()
    {
        return stateMachine;
    }
}
