package io.ringraft.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The file that switches a node's slow disk on and off: each change applied once, bad content reported once and ignored. */
class SyncDelayFileTest
{
    @TempDir
    Path dir;

    @Test
    void appliesEachChangeOnceAndKeepsTheDelayWhenTheFileHoldsNone() throws Exception
    {
        final Path file = dir.resolve("delay");
        final List<Long> applied = new ArrayList<>();
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        final SyncDelayFile watcher = new SyncDelayFile(4, file, 20, applied::add, new PrintStream(printed, true, StandardCharsets.UTF_8));

        assertEquals(0, watcher.doWork(), "no file: the config's delay, already in force");
        Files.writeString(file, "250\n");
        assertEquals(1, watcher.doWork());
        assertEquals(0, watcher.doWork(), "unchanged: nothing applied again");
        assertEquals(List.of(250_000_000L), applied);
        assertEquals(250, watcher.appliedMs());

        Files.writeString(file, "slow");
        assertEquals(0, watcher.doWork());
        assertEquals(0, watcher.doWork());
        Files.writeString(file, "60001");
        assertEquals(0, watcher.doWork());
        assertEquals(250, watcher.appliedMs(), "bad content changes nothing");

        Files.writeString(file, "0");
        assertEquals(1, watcher.doWork());
        Files.writeString(file, "");
        assertEquals(1, watcher.doWork(), "blank: back to the config's delay");
        Files.delete(file);
        assertEquals(0, watcher.doWork(), "no file: the config's delay, already in force");
        assertEquals(List.of(250_000_000L, 0L, 20_000_000L), applied);

        final String out = printed.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("ringraft node 4: storage sync delay 250 ms (storage.sync.delay.file=" + file + ")"), out);
        assertEquals(1, out.split("holds \"slow\"", -1).length - 1, "reported once: " + out);
        assertTrue(out.contains("holds \"slow\", not a delay in milliseconds (0..60000): the delay stays 250 ms"), out);
        assertTrue(out.contains("holds \"60001\""), out);
        assertTrue(out.contains("storage sync delay 0 ms") && out.contains("storage sync delay 20 ms"), out);
    }
}
