import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { databaseOptions, EntityLists } from './database.options';
import { Database } from './database.service';
import { migrateUnderLock } from './migration.lock';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(entities: EntityLists): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [connection(entities)],
      providers: [Database],
      exports: [Database],
    };
  }
}

function connection(entities: EntityLists): DynamicModule {
  return TypeOrmModule.forRootAsync({
    inject: [APP_CONFIG],
    useFactory: async (config: AppConfig) => ({
      ...(await databaseOptions(config, entities)),
      retryAttempts: 0,
    }),
    // `migrationsRun` says whether to migrate at start; TypeORM's own run of them takes no
    // lock, so it is done here, under one, once the connection is up.
    dataSourceFactory: async (options) => {
      if (options === undefined) throw new Error('no database options');
      const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
      if (!options.migrationsRun) return dataSource;
      try {
        await migrateUnderLock(dataSource);
      } catch (error) {
        await dataSource.destroy();
        throw error;
      }
      return dataSource;
    },
  });
}
