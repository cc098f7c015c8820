package io.ringraft.server;

import io.ringraft.engine.Role;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the admin tests ask of an in-process {@link LocalCluster}: its leader, a voting follower, a burst of writes. */
final class AdminTests
{
    private AdminTests()
    {
    }

    /** @return the in-process node that leads, waiting up to 10 s for one */
    static RingraftNode leader(final LocalCluster cluster) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            for (final long id : cluster.ids())
            {
                final RingraftNode node = cluster.node(id);
                if (node != null && node.raft().role() == Role.LEADER)
                {
                    return node;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no leader");
    }

    /** @return a voter that follows and knows the leader, waiting up to 10 s for one */
    static long follower(final LocalCluster cluster) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            for (final long id : cluster.ids())
            {
                final RingraftNode node = cluster.node(id);
                if (node != null && node.raft().role() == Role.FOLLOWER && node.raft().leaderId() > 0 &&
                    node.raft().metrics().membership() != null && node.raft().metrics().membership().isVoter(id))
                {
                    return id;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no voting follower that knows the leader");
    }

    /** Writes {@code count} key-value puts through node 1 and waits for every answer. */
    static void writeMany(final LocalCluster cluster, final int clusterId, final int count)
    {
        try (KvClient client = new KvClient(new KvClient.Context().endpoint(cluster.clientEndpoints().get(1L)).clusterId(clusterId)
            .aeronDirectory(cluster.sharedAeronDirectory()).timeout(10, TimeUnit.SECONDS)))
        {
            final AtomicInteger answered = new AtomicInteger();
            for (int i = 0; i < count; i++)
            {
                client.submit(KvProtocol.PUT, "k" + (i % 10), ("v" + i).getBytes(StandardCharsets.UTF_8), null, false,
                    (id, response) -> answered.incrementAndGet());
                client.poll();
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (answered.get() < count && System.nanoTime() < deadline)
            {
                client.poll();
                Thread.onSpinWait();
            }
            assertEquals(count, answered.get(), "writes answered");
        }
    }
}
