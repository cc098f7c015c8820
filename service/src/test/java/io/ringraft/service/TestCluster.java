package io.ringraft.service;

import io.ringraft.transport.aeron.FreePorts;
import io.ringraft.service.example.CounterService;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Three (or n) service nodes in this JVM on one embedded media driver, each with a counter service and its data directory. */
final class TestCluster implements AutoCloseable
{
    final Path baseDir;
    final EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(0, 256 * 1024);
    final Map<Long, String> raftEndpoints = new TreeMap<>();
    final Map<Long, String> clientEndpoints = new TreeMap<>();
    final Map<Long, ServiceNode> nodes = new TreeMap<>();
    private final Consumer<ServiceNode.Context> customizer;

    TestCluster(final int count, final Consumer<ServiceNode.Context> customizer)
    {
        this.customizer = customizer;
        try
        {
            baseDir = Files.createTempDirectory("ringraft-service-test");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        for (long id = 1; id <= count; id++)
        {
            raftEndpoints.put(id, "127.0.0.1:" + FreePorts.udpPort());
            clientEndpoints.put(id, "127.0.0.1:" + FreePorts.udpPort());
        }
        for (long id = 1; id <= count; id++)
        {
            start(id);
        }
    }

    ServiceNode start(final long id)
    {
        final ServiceNode.Context ctx = new ServiceNode.Context().nodeId(id).clusterId(7)
            .dataDir(baseDir.resolve("node-" + id)).aeronDirectory(driver.aeronDirectoryName())
            .durability(DurabilityPolicy.NONE).service(new CounterService())
            .idleStrategy(() -> new SleepingMillisIdleStrategy(1)).timing(300, 600, 50);
        for (final long member : raftEndpoints.keySet())
        {
            ctx.member(member, raftEndpoints.get(member), clientEndpoints.get(member));
        }
        customizer.accept(ctx);
        final ServiceNode node = ServiceNode.launch(ctx);
        nodes.put(id, node);
        return node;
    }

    void stop(final long id)
    {
        final ServiceNode node = nodes.remove(id);
        if (node != null)
        {
            node.close();
        }
    }

    List<String> endpoints()
    {
        return new ArrayList<>(clientEndpoints.values());
    }

    long awaitLeader(final long timeoutMs) throws InterruptedException
    {
        final long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline)
        {
            for (final ServiceNode node : nodes.values())
            {
                if (node.raft().isLeader())
                {
                    return node.raft().nodeId();
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no leader within " + timeoutMs + " ms");
    }

    CounterService counter(final long id)
    {
        return (CounterService)nodes.get(id).service();
    }

    /** Waits until every running node applied what the leader committed, and returns their counter fields. */
    void awaitConverged(final long timeoutMs) throws InterruptedException
    {
        final long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline)
        {
            long commit = -1;
            boolean same = true;
            for (final ServiceNode node : nodes.values())
            {
                commit = Math.max(commit, node.raft().commitIndex());
            }
            for (final ServiceNode node : nodes.values())
            {
                same &= node.raft().appliedIndex() >= commit;
            }
            if (same)
            {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("nodes did not converge within " + timeoutMs + " ms");
    }

    @Override
    public void close()
    {
        for (final ServiceNode node : nodes.values())
        {
            CloseHelper.quietClose(node);
        }
        nodes.clear();
        CloseHelper.quietClose(driver);
        IoUtil.delete(baseDir.toFile(), true);
    }


    static void sleep(final long ms)
    {
        try
        {
            TimeUnit.MILLISECONDS.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
