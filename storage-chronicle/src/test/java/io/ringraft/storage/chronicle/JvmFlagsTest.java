package io.ringraft.storage.chronicle;

import io.ringraft.JvmFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The storage jar carries the JVM flags it needs, and opening a log without them fails at once, in one line. */
class JvmFlagsTest
{
    @Test
    void theJarCarriesItsFlagsAndThisJvmHasThem()
    {
        final List<String> flags = JvmFlags.flags("storage-chronicle");
        assertTrue(flags.contains("--add-opens=java.base/java.lang=ALL-UNNAMED"), flags.toString());
        assertTrue(flags.contains("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"), flags.toString());
        assertEquals(List.of(), JvmFlags.missing("storage-chronicle"), "surefire passes ringraft.jvmFlags");
    }

    @Test
    void withoutTheFlagsOpeningALogFailsInOneLineListingThem(@TempDir final Path dir) throws Exception
    {
        final Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), OpenLogMain.class.getName(), dir.toString())
            .redirectErrorStream(true).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child ends");
        final String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(3, child.exitValue(), out);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith("ringraft storage-chronicle needs JVM flags this JVM was started without: --add-exports="), out);
        assertTrue(out.contains("--add-opens=java.base/java.lang=ALL-UNNAMED"), out);
    }

    /** Opens a log in the directory given; prints the failure's message and exits 3 if it cannot. */
    public static final class OpenLogMain
    {
        private OpenLogMain()
        {
        }

        /** @param args the directory */
        public static void main(final String[] args)
        {
            try (ChronicleLogStorage storage = ChronicleLogStorage.open(new ChronicleStorageContext().directory(Path.of(args[0]))))
            {
                System.out.println("opened");
            }
            catch (final IllegalStateException ex)
            {
                System.out.println(ex.getMessage());
                System.exit(3);
            }
        }
    }
}
