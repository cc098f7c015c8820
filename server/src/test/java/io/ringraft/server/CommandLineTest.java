package io.ringraft.server;

import io.ringraft.transport.aeron.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input: each case exits with a non-zero status after one line that names the problem and the setting. */
class CommandLineTest
{
    @TempDir
    Path dir;

    @Test
    void unknownCommand()
    {
        assertOneLine(Cli.run("frobnicate"), 2, "unknown command 'frobnicate'");
    }

    @Test
    void unknownFlag()
    {
        assertOneLine(Cli.run("kv", "get", "k", "--endpoint", "127.0.0.1:9", "--bogus"), 2, "unknown flag --bogus");
        assertOneLine(Cli.run("demo", "--speed", "11"), 2, "ringraft demo: unknown flag --speed");
        assertOneLine(Cli.run("node", "--config"), 2, "--config needs a value");
        assertOneLine(Cli.run("load", "--mode", "open"), 2, "--rates is required");
    }

    @Test
    void duplicateNodeIds() throws IOException
    {
        final Path config = config(9, "member.3 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort());
        assertOneLine(Cli.run("node", "--config", config.toString()), 2, "member.3 is set twice");
    }

    @Test
    void endpointThatDoesNotParse() throws IOException
    {
        assertOneLine(Cli.run("kv", "put", "a", "b", "--endpoint", "localhost"), 2, "--endpoint=localhost: not host:port");
        final Path config = config(9, "member.4 = 127.0.0.1:99999 127.0.0.1:" + freePort());
        assertOneLine(Cli.run("node", "--config", config.toString()), 2, "member.4 raft endpoint=127.0.0.1:99999: the port must be");
    }

    @Test
    void endpointThatCannotBeBound() throws IOException
    {
        final int raftPort = freePort();
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), raftPort)))
        {
            final Path config = dir.resolve("taken.conf");
            Files.writeString(config, "cluster.id = 9\nnode.id = 1\nmember.1 = 127.0.0.1:" + raftPort + " 127.0.0.1:" + freePort() +
                "\ndata.dir = " + dir.resolve("data") + "\n");
            assertOneLine(Cli.run("node", "--config", config.toString()), 2, "member.1 raft endpoint=127.0.0.1:" + raftPort +
                " cannot be bound");
        }
        // An address of no interface of this machine (TEST-NET-1, RFC 5737).
        final Path config = dir.resolve("foreign.conf");
        Files.writeString(config, "cluster.id = 9\nnode.id = 1\nmember.1 = 127.0.0.1:" + freePort() + " 192.0.2.1:9101\n" +
            "data.dir = " + dir.resolve("data") + "\n");
        assertOneLine(Cli.run("node", "--config", config.toString()), 2, "member.1 client endpoint=192.0.2.1:9101 cannot be bound");
    }

    @Test
    void dataDirectoryThatCannotBeCreated() throws IOException
    {
        final Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        final Path config = dir.resolve("node.conf");
        Files.writeString(config, "cluster.id = 9\nnode.id = 1\nmember.1 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort() +
            "\ndata.dir = " + file.resolve("data") + "\n");
        assertOneLine(Cli.run("node", "--config", config.toString()), 2, "data.dir=" + file.resolve("data") + " cannot be created");
    }

    @Test
    void dataDirectoryOfAnotherCluster() throws IOException
    {
        final Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve(RingraftNode.ID_FILE), "cluster.id=5\nnode.id=1\n");
        final Path config = dir.resolve("node.conf");
        Files.writeString(config, "cluster.id = 9\nnode.id = 1\nmember.1 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort() +
            "\ndata.dir = " + data + "\n");
        assertOneLine(Cli.run("node", "--config", config.toString()), 2, "data.dir=" + data + " belongs to cluster.id=5, not cluster.id=9");
    }

    @Test
    void aDeadNodeIsAnErrorWithinTheTimeoutNotAHang()
    {
        final long start = System.nanoTime();
        final Cli.Result r = Cli.run("kv", "get", "k", "--endpoint", "127.0.0.1:" + freePort(), "--timeout", "1s");
        assertOneLine(r, 1, "no member is reachable within 1000 ms");
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "answered within the timeout plus start-up");
        assertOneLine(Cli.run("kv", "put", "k", "v", "--endpoint", "no-such-host.invalid:9000"), 2, "unknown host no-such-host.invalid");
    }

    @Test
    void statusOfADirectoryWhereNoNodeRan()
    {
        assertOneLine(Cli.run("status", "--data-dir", dir.toString()), 1, "no node has run in " + dir);
    }

    private Path config(final int clusterId, final String extraLine) throws IOException
    {
        final Path config = dir.resolve("cluster.conf");
        Files.writeString(config, String.join("\n",
            "cluster.id = " + clusterId,
            "node.id = 1",
            "member.1 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort(),
            "member.2 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort(),
            "member.3 = 127.0.0.1:" + freePort() + " 127.0.0.1:" + freePort(),
            "data.dir = " + dir.resolve("node-{id}"),
            extraLine, ""));
        return config;
    }

    private static void assertOneLine(final Cli.Result r, final int status, final String expected)
    {
        assertEquals(status, r.status(), r.toString());
        assertEquals(1, r.errLines().size(), "one line: " + r);
        assertTrue(r.errLines().get(0).contains(expected), "'" + r.errLines().get(0) + "' should contain '" + expected + "'");
        assertFalse(r.out().contains("running"), r.toString());
    }

    static int freePort()
    {
        return FreePorts.udpPort();
    }
}
