package io.ringraft.service;

import io.ringraft.client.Outcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client's offer/poll path and the leader's client ingress allocate (close to) nothing per
 * command once warm, without and with client authentication (every request and answer signed
 * and verified): measured with the JVM's per-thread allocation counter.
 */
final class AllocationTest
{
    private static final int WARMUP = 20_000;
    private static final int MEASURED = 20_000;

    @Test
    void clientAndIngressAllocateNothingPerCommandInSteadyState() throws Exception
    {
        measure("unauthenticated", ctx -> { }, 0, null);
    }

    @Test
    void authenticatedClientAndIngressAllocateNothingPerCommandInSteadyState() throws Exception
    {
        final Path dir = Files.createTempDirectory("ringraft-allocation-auth");
        final String key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        final Path credentials = Files.writeString(dir.resolve("credentials"), "client.5.key.1 = " + key + "\n");
        final Path keyFile = Files.writeString(dir.resolve("client.key"), "key.1 = " + key + "\n");
        measure("authenticated", ctx -> ctx.clientCredentialsFile(credentials).requireClientAuth(true), 5, keyFile);
    }

    private static void measure(final String what, final Consumer<ServiceNode.Context> nodes, final long clientId, final Path keyFile)
        throws Exception
    {
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        try (TestCluster cluster = new TestCluster(3, nodes))
        {
            final long leaderId = cluster.awaitLeader(10_000);
            final long[] ok = new long[1];
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .credentials(clientId, keyFile)
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
                System.out.printf("allocation per command (%s): client thread %.2f B, leader ingress thread %.2f B%n", what,
                    clientPerCommand, ingressPerCommand);
                assertEquals(0, client.refusedResponses());
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
