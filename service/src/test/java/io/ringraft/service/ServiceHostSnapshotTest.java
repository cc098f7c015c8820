package io.ringraft.service;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.statemachine.CapturedSnapshot;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The host's captured snapshot: the same bytes as a snapshot built at the capture, whatever changes after it. */
class ServiceHostSnapshotTest
{
    /** A service whose whole state is one long; it captures it when asked to. */
    private static final class OneLong implements ClusteredService
    {
        final boolean captures;
        long value;

        OneLong(final boolean captures)
        {
            this.captures = captures;
        }

        @Override
        public int onCommand(final long sessionId, final long sequence, final long clusterTimeNs, final DirectBuffer command,
            final int offset, final int length, final MutableDirectBuffer response, final int responseOffset)
        {
            return 0;
        }

        @Override
        public void onTakeSnapshot(final SnapshotWriter writer)
        {
            write(writer, value);
        }

        @Override
        public CapturedSnapshot onCaptureSnapshot()
        {
            final long captured = value;
            return captures ? writer -> write(writer, captured) : null;
        }

        @Override
        public void onLoadSnapshot(final SnapshotReader reader)
        {
        }

        private static void write(final SnapshotWriter writer, final long v)
        {
            final UnsafeBuffer b = new UnsafeBuffer(new byte[8]);
            b.putLong(0, v);
            writer.write(b, 0, 8);
        }
    }

    @Test
    void aCaptureWritesWhatABuildWouldHaveWrittenAtTheCapture()
    {
        final OneLong service = new OneLong(true);
        final ServiceHost host = new ServiceHost(service, 1, 16, 10_000_000_000L, 1024, 64, 4096, 16);
        service.value = 5;
        final CapturedSnapshot captured = host.captureSnapshot();
        assertNotNull(captured);
        final byte[] builtAtCapture = bytes(host::buildSnapshot);
        service.value = 9; // applied after the capture, before it is written
        assertArrayEquals(builtAtCapture, bytes(captured::writeTo));
        assertFalse(java.util.Arrays.equals(builtAtCapture, bytes(host::buildSnapshot)), "the live state moved on");
    }

    @Test
    void aServiceThatCapturesNothingLeavesTheHostToBuildFromTheLiveState()
    {
        assertNull(new ServiceHost(new OneLong(false), 1, 16, 10_000_000_000L, 1024, 64, 4096, 16).captureSnapshot());
    }

    private static byte[] bytes(final Consumer<SnapshotWriter> write)
    {
        try (InMemorySnapshotStore store = new InMemorySnapshotStore())
        {
            final SnapshotMeta meta;
            try (SnapshotWriter writer = store.create(new SnapshotMeta(new LogId(1, 10), Membership.of(1), "s", -1, 0)))
            {
                write.accept(writer);
                meta = writer.commit();
            }
            try (SnapshotReader reader = store.open(meta))
            {
                final UnsafeBuffer data = new UnsafeBuffer(new byte[(int)reader.size()]);
                reader.read(0, data, 0, (int)reader.size());
                return data.byteArray();
            }
        }
    }
}
