package io.ringraft.runtime;

import io.ringraft.statemachine.CapturedSnapshot;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A recording state machine that captures its commands for a snapshot (never reading the live state to build one);
 * the write of a capture says it started ({@link #writing}) and waits until the test lets it go ({@link #release}).
 */
final class CapturingStateMachine extends RecordingStateMachine
{
    final CountDownLatch writing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        throw new AssertionError("the live state is not read: the capture is written");
    }

    @Override
    public CapturedSnapshot captureSnapshot()
    {
        final List<Long> captured = commands();
        return writer ->
        {
            writing.countDown();
            try
            {
                release.await(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            for (final long c : captured)
            {
                buffer.putLong(0, c);
                writer.write(buffer, 0, 8);
            }
        };
    }
}
