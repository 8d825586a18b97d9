<?php

namespace App\Controller;

use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Twig\Environment;

/**
 * The demo's pages. Each shows which origin served it and what Symfony believes about the
 * request (scheme, host, client IP), so a person can see the edge at work.
 */
final class PageController
{
    public function __construct(private Environment $twig)
    {
    }

    public function home(Request $request): Response
    {
        return $this->render('home.html.twig', $request);
    }

    public function about(Request $request): Response
    {
        return $this->render('about.html.twig', $request);
    }

    private function render(string $template, Request $request): Response
    {
        $response = new Response($this->twig->render($template, [
            'origin' => $_SERVER['APP_ORIGIN_NAME'] ?? gethostname() . ':' . ($_SERVER['SERVER_PORT'] ?? '?'),
            'secure' => $request->isSecure(),
            'host' => $request->getHost(),
            'client_ip' => $request->getClientIp(),
        ]));
        $response->headers->set('X-Origin', (string) ($_SERVER['APP_ORIGIN_NAME'] ?? 'origin'));

        return $response;
    }
}
