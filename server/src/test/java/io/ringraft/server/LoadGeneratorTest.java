package io.ringraft.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadGeneratorTest
{
    @TempDir
    Path dir;

    @Test
    void openLoopPointsPerRateAndSizeWithSavedDistributions() throws IOException
    {
        final Cli.Result r = Cli.run("load", "--mode", "open", "--rates", "200,400", "--sizes", "32,512", "--warmup", "500ms",
            "--duration", "1s", "--hgrm", dir.toString());
        assertEquals(0, r.status(), r.toString());
        for (final String point : List.of("open rate=200/s size=32B", "open rate=400/s size=32B", "open rate=200/s size=512B",
            "open rate=400/s size=512B"))
        {
            assertTrue(r.out().contains("== " + point + ": "), point + " in\n" + r);
        }
        assertTrue(r.out().contains("Value     Percentile TotalCount 1/(1-Percentile)"), "HdrHistogram distribution printed");
        try (Stream<Path> files = Files.list(dir))
        {
            final List<Path> hgrm = files.filter(p -> p.toString().endsWith(".hgrm")).toList();
            assertEquals(4, hgrm.size(), hgrm.toString());
            for (final Path file : hgrm)
            {
                final List<String> lines = Files.readAllLines(file);
                assertTrue(lines.stream().anyMatch(l -> l.startsWith("#[Mean")), file + ": " + lines);
            }
        }
    }

    @Test
    void closedLoopRecordsEveryAnsweredRequest()
    {
        final Cli.Result r = Cli.run("load", "--window", "4", "--warmup", "300ms", "--duration", "1s");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("== closed window=4 size=64B: "), r.toString());
        final Matcher ok = Pattern.compile("answered \\(([\\d,]+) ok, 0 unknown, 0 refused\\)").matcher(r.out());
        assertTrue(ok.find(), r.toString());
        assertTrue(Long.parseLong(ok.group(1).replace(",", "")) > 0, "requests were answered: " + r);
    }

    /** A key space bounds the nodes' state: puts overwrite its keys in turn, and every get sees the latest acknowledged put. */
    @Test
    void aKeySpaceOfOverwrittenKeysWithCheckedReads()
    {
        final Cli.Result r = Cli.run("load", "--window", "8", "--keys", "50", "--reads", "4", "--warmup", "300ms", "--duration", "1s");
        assertEquals(0, r.status(), r.toString());
        final Matcher reads = Pattern.compile("reads: ([\\d,]+) linearizable gets saw the acknowledged put \\(or a later one of its key\\), 0 did not")
            .matcher(r.out());
        assertTrue(reads.find(), r.toString());
        assertTrue(Long.parseLong(reads.group(1).replace(",", "")) > 0, "gets were answered: " + r);
        final Cli.Result bad = Cli.run("load", "--client", "raw", "--keys", "50");
        assertNotEquals(0, bad.status());
        assertTrue(bad.err().contains("--keys chooses the keys of --client kv's puts"), bad.toString());
        final Cli.Result zero = Cli.run("load", "--keys", "0");
        assertNotEquals(0, zero.status());
        assertTrue(zero.err().contains("--keys"), zero.toString());
    }

    /** Against a running cluster the client has a driver of its own: run by its polling thread (the default) or a thread. */
    @Test
    void aClientWithItsOwnDriverRunsItInItsPollingThreadOrOnAThread()
    {
        try (LocalCluster cluster = new LocalCluster(3, 4244, dir.resolve("cluster"), io.ringraft.storage.DurabilityPolicy.NONE, false,
            java.util.Map.of(), true))
        {
            cluster.startAll();
            for (final String driver : List.of("invoked", "thread"))
            {
                final Cli.Result r = Cli.run("load", "--config", cluster.configFile(1).toString(), "--window", "4", "--warmup", "300ms",
                    "--duration", "1s", "--client-driver", driver);
                assertEquals(0, r.status(), driver + ": " + r);
                final Matcher ok = Pattern.compile("answered \\(([\\d,]+) ok, 0 unknown, 0 refused\\)").matcher(r.out());
                assertTrue(ok.find() && Long.parseLong(ok.group(1).replace(",", "")) > 0, driver + ": " + r);
            }
        }
        final Cli.Result bad = Cli.run("load", "--duration", "1s", "--client-driver", "fast");
        assertNotEquals(0, bad.status(), bad.toString());
        assertTrue(bad.err().contains("--client-driver=fast must be invoked or thread"), bad.toString());
    }

    @Test
    void nodeSettingsReachTheLocalClusterAndAreChecked()
    {
        // Each node's ingress thread drives its Raft node: the cluster still answers.
        final Cli.Result r = Cli.run("load", "--window", "4", "--warmup", "300ms", "--duration", "1s", "--node-setting",
            "threading=INVOKER", "--node-setting", "idle=yield-park");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("== closed window=4 size=64B: "), r.toString());
        final Cli.Result bad = Cli.run("load", "--duration", "1s", "--node-setting", "idle=nap");
        assertNotEquals(0, bad.status(), bad.toString());
        assertTrue(bad.err().contains("idle=nap must be one of"), bad.toString());
        final Cli.Result malformed = Cli.run("load", "--duration", "1s", "--node-setting", "idle");
        assertTrue(malformed.err().contains("--node-setting=idle must be KEY=VALUE"), malformed.toString());
    }
}
