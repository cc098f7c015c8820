package io.ringraft.server;

import io.ringraft.client.Outcome;
import io.ringraft.client.RingraftClient;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code ringraft load --client raw}: opaque commands of a given size through the client
 * library's zero-allocation path ({@link RingraftClient#offer} and a response handler), in a
 * closed loop of a window of commands in flight, against any service (a service ignores or
 * applies the bytes as it likes). Latency is the round trip from offer to outcome.
 */
final class RawLoad
{
    private final RingraftClient client;
    private final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    private final long[] offeredAt;
    private final int mask;
    private final org.agrona.concurrent.IdleStrategy idle;
    private long answered;
    private long failed;
    private boolean recording;

    RawLoad(final RingraftClient client, final int maxWindow)
    {
        this.client = client;
        this.idle = client.idleStrategy();
        final int slots = Integer.highestOneBit(Math.max(1, maxWindow) * 2 - 1) * 2;
        this.offeredAt = new long[slots];
        this.mask = slots - 1;
        client.responseHandler((seq, outcome, duplicate, index, buffer, offset, length) ->
        {
            answered++;
            if (outcome != Outcome.OK && outcome != Outcome.APPLIED_RESPONSE_EVICTED)
            {
                failed++;
            }
            else if (recording)
            {
                histogram.recordValue(Math.min(histogram.getHighestTrackableValue(), System.nanoTime() - offeredAt[(int)(seq & mask)]));
            }
        });
    }

    /**
     * Runs one point: warm-up, then the measurement, and prints it.
     *
     * @param out      where to print
     * @param window   commands in flight
     * @param size     command bytes
     * @param warmupNs warm-up time
     * @param runNs    measured time
     * @return the histogram of the measurement (nanoseconds)
     */
    Histogram run(final PrintStream out, final int window, final int size, final long warmupNs, final long runNs)
    {
        final UnsafeBuffer command = new UnsafeBuffer(new byte[size]);
        ThreadLocalRandom.current().nextBytes(command.byteArray());
        recording = false;
        loop(command, window, warmupNs);
        histogram.reset();
        recording = true;
        final long answeredBefore = answered;
        final long failedBefore = failed;
        final long start = System.nanoTime();
        loop(command, window, runNs);
        final double seconds = (System.nanoTime() - start) / 1e9;
        recording = false;
        drain();
        out.printf("%n== raw closed window=%d size=%dB: %,.0f commands/s answered (%,d ok, %d not ok) over %.1f s; round trip p50 %s " +
            "p99 %s p99.9 %s max %s%n", window, size, (answered - answeredBefore) / seconds, histogram.getTotalCount(),
            failed - failedBefore, seconds, Demo.ms(histogram.getValueAtPercentile(50)), Demo.ms(histogram.getValueAtPercentile(99)),
            Demo.ms(histogram.getValueAtPercentile(99.9)), Demo.ms(histogram.getMaxValue()));
        return histogram;
    }

    private void loop(final UnsafeBuffer command, final int window, final long ns)
    {
        final long end = System.nanoTime() + ns;
        while (System.nanoTime() < end)
        {
            while (client.inFlight() < window)
            {
                final long now = System.nanoTime();
                final long seq = client.offer(command, 0, command.capacity());
                if (seq < 0)
                {
                    if (seq == RingraftClient.CLOSED)
                    {
                        throw new CliException(CliException.FAILED, "ringraft load: the session closed");
                    }
                    break;
                }
                offeredAt[(int)(seq & mask)] = now;
            }
            idle.idle(client.poll());
        }
    }

    private void drain()
    {
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (client.inFlight() > 0 && System.nanoTime() < end)
        {
            client.poll();
        }
    }
}
