package io.ringraft.transport.aeron;

import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.TimeoutNow;
import org.agrona.IoUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two processes, each with its own embedded media driver, over UDP loopback: messages round-trip,
 * and after the peer process is killed with SIGKILL and started again on the same endpoint, the
 * surviving node reaches it again without being restarted itself.
 */
class AeronRaftNetworkProcessTest
{
    private static final int CLUSTER = 21;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final List<Process> children = new ArrayList<>();
    private final List<String> childDirs = new ArrayList<>();
    private AeronRaftNetwork self;

    @AfterEach
    void cleanUp() throws InterruptedException
    {
        if (self != null)
        {
            self.close();
        }
        for (final Process child : children)
        {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
        // A killed driver cannot delete its directory.
        for (final String dir : childDirs)
        {
            IoUtil.delete(new File(dir), true);
        }
    }

    @Test
    void peerProcessKilledAndRestartedIsReachableAgain() throws IOException, InterruptedException
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        Process child = startChild(endpoints);
        self = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(1).clusterId(CLUSTER).endpoints(endpoints).termLength(64 * 1024).embeddedDriver(true));

        for (int term = 1; term <= 200; term++)
        {
            roundTrip(term);
        }

        child.destroyForcibly();
        assertTrue(child.waitFor(10, TimeUnit.SECONDS), "child killed");
        assertTrue(new File(childDirs.get(0)).isDirectory(), "a killed driver leaves its directory behind for the test to delete");
        child = startChild(endpoints);
        roundTrip(1_000);
        for (int term = 1_001; term <= 1_200; term++)
        {
            roundTrip(term);
        }
        assertEquals(0, self.counters().droppedTotal(), self.counters().toString());
        assertTrue(child.isAlive());
    }

    /** Sends TimeoutNow(term) until its echo comes back; stale echoes of earlier terms are ignored. */
    private void roundTrip(final long term)
    {
        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        final boolean[] echoed = {false};
        final RaftNetwork.MessageHandler handler = m -> echoed[0] |= m.equals(new TimeoutNow(2, 1, term));
        long lastSend = 0;
        while (!echoed[0])
        {
            if (System.nanoTime() > deadline)
            {
                fail("no echo of term " + term + " within " + TIMEOUT + "; " + self.counters());
            }
            // Resend every 100 ms: sends before the peer connects, and echoes lost on a restart, are gone.
            if (System.nanoTime() - lastSend > 100_000_000L)
            {
                final RaftMessage ping = new TimeoutNow(1, 2, term);
                final int result = self.send(ping);
                if (result == RaftNetwork.SENT)
                {
                    lastSend = System.nanoTime();
                }
                else
                {
                    assertTrue(result == RaftNetwork.NOT_CONNECTED || result == RaftNetwork.BACK_PRESSURED, "send " + result);
                }
            }
            if (self.poll(handler, 10) == 0)
            {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    private Process startChild(final Map<Long, String> endpoints) throws IOException
    {
        final List<String> command = List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", System.getProperty("java.class.path"),
            EchoNode.class.getName(), "2", Integer.toString(CLUSTER), EchoNode.endpointsArg(endpoints));
        final Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        children.add(child);
        final BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        final StringBuilder seen = new StringBuilder();
        while (System.nanoTime() < deadline)
        {
            if (out.ready())
            {
                final String line = out.readLine();
                if (line == null)
                {
                    break;
                }
                if (line.startsWith("READY "))
                {
                    childDirs.add(line.substring("READY ".length()));
                    return child;
                }
                seen.append(line).append('\n');
            }
            else if (!child.isAlive())
            {
                break;
            }
            else
            {
                LockSupport.parkNanos(10_000_000L);
            }
        }
        fail("child did not become ready; output:\n" + seen);
        return child;
    }
}
