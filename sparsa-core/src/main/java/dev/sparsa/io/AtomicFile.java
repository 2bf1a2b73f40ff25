package dev.sparsa.io;

import dev.sparsa.SparsaException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file atomically: the content goes to a temporary file in the same directory, which is forced to disk
 * and renamed over the target with {@code ATOMIC_MOVE}, and the directory is forced too (the rename is durable only
 * once the directory entry is on disk). A crash or an exception leaves the target untouched.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /** What writes the content; it may throw IOException. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel out) throws IOException;
    }

    /** Writes {@code target} through {@code body} on a temp file that replaces it at the end. */
    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) {
            throw new SparsaException(target + ": cannot write: it is a directory");
        }
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            try {
                // createTempFile makes the file owner-only; a model or result file is for everyone to read.
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: keep its defaults
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new SparsaException(target + ": cannot write: " + reason(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temp file has a hidden name and is harmless
                }
            }
        }
    }

    /**
     * Forces a directory's entries to disk (after a rename or a delete in it). Not every platform lets a directory be
     * opened for that (Windows does not); there the rename is as durable as the file system makes it.
     */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // a directory cannot be opened or forced here; the file itself was forced before the rename
        }
    }

    /** An I/O failure in words, naming the path it concerns (not the exception class). */
    static String reason(IOException e) {
        return switch (e) {
            // createDirectories met a file where a directory is needed
            case FileAlreadyExistsException f -> f.getFile() + " exists and is not a directory";
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case NoSuchFileException n -> n.getFile() + ": no such file or directory";
            case FileSystemException f when f.getReason() != null ->
                    (f.getFile() != null ? f.getFile() + ": " : "") + f.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) {
        write(target, ch -> {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        });
    }
}
