package io.ringraft.service;

import io.ringraft.client.Outcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client's offer/poll path and the leader's client ingress allocate (close to) nothing per
 * command once warm: measured with the JVM's per-thread allocation counter.
 */
final class AllocationTest
{
    private static final int WARMUP = 20_000;
    private static final int MEASURED = 20_000;

    @Test
    void clientAndIngressAllocateNothingPerCommandInSteadyState() throws Exception
    {
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            final long leaderId = cluster.awaitLeader(10_000);
            final long[] ok = new long[1];
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .window(64).responseHandler((seq, outcome, dup, index, b, o, l) -> ok[0] += outcome == Outcome.OK ? 1 : 0)))
            {
                final UnsafeBuffer command = new UnsafeBuffer(CounterService.command(CounterService.INCREMENT, 1, 0));
                run(client, command, WARMUP, ok);
                final Thread ingress = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("ringraft-ingress-" + leaderId)).findFirst().orElseThrow();
                final long clientBefore = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
                final long ingressBefore = threads.getThreadAllocatedBytes(ingress.getId());
                run(client, command, MEASURED, ok);
                final double clientPerCommand = (threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - clientBefore) /
                    (double)MEASURED;
                final double ingressPerCommand = (threads.getThreadAllocatedBytes(ingress.getId()) - ingressBefore) / (double)MEASURED;
                assertEquals(WARMUP + MEASURED, ok[0]);
                System.out.printf("allocation per command: client thread %.2f B, leader ingress thread %.2f B%n", clientPerCommand,
                    ingressPerCommand);
                assertTrue(clientPerCommand < 8, "client thread: " + clientPerCommand + " B per command");
                assertTrue(ingressPerCommand < 8, "ingress thread: " + ingressPerCommand + " B per command");
            }
        }
    }

    private static void run(final RingraftClient client, final UnsafeBuffer command, final int count, final long[] ok)
    {
        final long target = ok[0] + count;
        int offered = 0;
        while (ok[0] < target)
        {
            if (offered < count && client.offer(command, 0, command.capacity()) > 0)
            {
                offered++;
            }
            client.poll();
        }
    }
}
