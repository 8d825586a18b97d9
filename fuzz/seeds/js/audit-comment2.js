import(''//# sourceMappingURL=x
)
