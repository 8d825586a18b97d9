<?php

namespace App\Controller;

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;

/**
 * A write the edge must never replay: POST /order counts orders per origin (in the origin's var
 * directory), GET /orders reads the count. `?delay_ms=N` makes either slow, so a test can kill
 * the origin while the request is in flight.
 */
final class OrderController
{
    public function order(Request $request): JsonResponse
    {
        $file = self::counterFile();
        $handle = fopen($file, 'c+');
        flock($handle, LOCK_EX);
        $count = (int) stream_get_contents($handle) + 1;
        ftruncate($handle, 0);
        rewind($handle);
        fwrite($handle, (string) $count);
        fflush($handle);
        flock($handle, LOCK_UN);
        fclose($handle);
        $delay = min(10000, max(0, (int) $request->query->get('delay_ms', 0)));
        usleep($delay * 1000);

        // The edge purges every cached page tagged `orders` (the home page shows the count).
        return new JsonResponse(['origin' => PageController::originName(), 'orders' => $count], 201, [
            'X-Origin' => PageController::originName(),
            'X-Edge-Purge-Tags' => 'orders',
        ]);
    }

    public function count(Request $request): JsonResponse
    {
        usleep(min(10000, max(0, (int) $request->query->get('delay_ms', 0))) * 1000);

        return new JsonResponse(['origin' => PageController::originName(), 'orders' => self::orders()], 200, ['X-Origin' => PageController::originName(), 'Cache-Control' => 'no-store']);
    }

    /** Orders placed at this origin. */
    public static function orders(): int
    {
        $file = self::counterFile();

        return is_file($file) ? (int) file_get_contents($file) : 0;
    }

    private static function counterFile(): string
    {
        $dir = getenv('APP_VAR_DIR');
        $dir = \is_string($dir) && $dir !== '' ? $dir : \dirname(__DIR__, 2) . '/var';
        if (!is_dir($dir)) {
            mkdir($dir, 0777, true);
        }

        return $dir . '/orders.count';
    }
}
