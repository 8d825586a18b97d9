<?php

namespace App;

use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Bundle\TwigBundle\TwigBundle;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

/**
 * The demo shop's kernel: FrameworkBundle + TwigBundle, configured from config/*.yaml.
 */
final class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle(), new TwigBundle()];
    }

    /** There is no composer.json to find the project directory by. */
    public function getProjectDir(): string
    {
        return \dirname(__DIR__);
    }

    /** Where cache and logs go; ASSET_VAR_DIR lets several origins share one checkout. */
    public function getCacheDir(): string
    {
        return ($_SERVER['APP_VAR_DIR'] ?? $this->getProjectDir() . '/var') . '/cache/' . $this->environment;
    }

    public function getLogDir(): string
    {
        return ($_SERVER['APP_VAR_DIR'] ?? $this->getProjectDir() . '/var') . '/log';
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $container->import($this->getProjectDir() . '/config/framework.yaml');
        $container->import($this->getProjectDir() . '/config/services.yaml');
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->add('home', '/')->controller([Controller\PageController::class, 'home']);
        $routes->add('about', '/about')->controller([Controller\PageController::class, 'about']);
    }
}
